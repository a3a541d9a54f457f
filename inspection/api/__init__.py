"""The REST API: thin views that validate input, call a service or selector, and serialize the result."""
