"""Django project configuration; importing it also loads the Celery app so
that tasks queued from the web process use the same broker settings."""

from .celery import app as celery_app

__all__ = ("celery_app",)
