"""Settings of one release of the seeds' airport app; the database comes from the environment."""

import os

SECRET_KEY = os.environ.get("DJM_SECRET_KEY", "django-migrate-tests-only")
DEBUG = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["airports"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("DJM_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DJM_DB_PORT", "5432"),
        "USER": os.environ.get("DJM_DB_USER", ""),
        "PASSWORD": os.environ.get("DJM_DB_PASSWORD", ""),
        "NAME": os.environ.get("DJM_DB_NAME", "djm"),
    }
}
