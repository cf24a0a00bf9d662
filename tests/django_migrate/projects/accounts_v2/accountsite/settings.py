"""Settings of release 2.0.0 of a project with Django's own apps (auth, contenttypes, admin, sessions)
and a custom user model: what a first install migrates. The database comes from the environment."""

import os

SECRET_KEY = os.environ.get("DJM_SECRET_KEY", "django-migrate-tests-only")
DEBUG = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
]
AUTH_USER_MODEL = "accounts.User"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
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
