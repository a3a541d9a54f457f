"""Everything that changes data goes through a function in this package.

Functions are named `<entity>_<action>` and take keyword-only arguments; the
API, the admin, management commands and Celery tasks all call them, so the
rules live in one place.
"""
