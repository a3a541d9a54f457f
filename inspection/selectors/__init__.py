"""Read-only queries, shared by the API, the web pages and the admin."""
