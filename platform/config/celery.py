"""The Celery application: `celery -A config worker` starts a worker.

Broker and task settings come from Django settings (names starting with
CELERY_), which in turn come from environment variables.
"""

import os

from celery import Celery

from config import broker

broker.register()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("inspection")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
