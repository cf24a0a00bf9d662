"""The Celery app: ``celery -A config worker``.

As in most projects, the default settings module is the developer's local one: a server must set
DJANGO_SETTINGS_MODULE (config.settings.production) itself.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
