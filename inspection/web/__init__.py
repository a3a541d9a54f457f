"""The web pages people use in a browser: thin views over the selectors and services."""
