"""Django settings of the example project: every value comes from the environment (see config.py).

Production (the default, ``DJANGO_DEBUG`` unset or false) requires DJANGO_SECRET_KEY,
DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and CELERY_BROKER_URL; a missing or invalid one stops
the process at start with a message naming all of them.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .config import Config, ConfigError

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    CONFIG = Config.from_env(os.environ, BASE_DIR)
except ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None

DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key
ALLOWED_HOSTS = CONFIG.allowed_hosts
CSRF_TRUSTED_ORIGINS = CONFIG.csrf_trusted_origins
RELEASE_VERSION = CONFIG.release_version

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "airports",
]

MIDDLEWARE = [
    "airports.middleware.UnixSocketClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

DATABASES = {"default": CONFIG.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CONFIG.redis_url,
        "KEY_PREFIX": "example",
        "TIMEOUT": 300,
        # Passed to redis-py's connection pool: a dead Redis fails a request in seconds, not minutes.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
}

MONGODB_URL = CONFIG.mongodb_url

# Celery (example/celery.py reads the CELERY_* names). The broker is RabbitMQ; task results are
# written to the database by the task itself (airports.Distance), so no result backend.
CELERY_BROKER_URL = CONFIG.broker_url
# amqps:// (RabbitMQ's TLS listener, rabbitmq_tls): verified, see config.Config.broker_use_ssl.
CELERY_BROKER_USE_SSL = CONFIG.broker_use_ssl
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged when it has finished: a worker stopped during a deploy leaves it queued
# for the next worker instead of losing it (the task is idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}

# Security. nginx on the app host is the one trust boundary: it overwrites X-Forwarded-Proto and
# X-Real-IP (trusting the load balancer's values only from its addresses), and only it can reach
# gunicorn's unix socket.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False
SECURE_SSL_REDIRECT = CONFIG.secure_ssl_redirect
# The deploy's health gate asks each app host's nginx over plain HTTP, without the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = CONFIG.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = CONFIG.hsts_include_subdomains
SECURE_HSTS_PRELOAD = CONFIG.hsts_preload
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# gis.W001: GDAL older than 3.9 (Debian 12 ships 3.6) cannot stop a malicious spatial reference
# string from making GDAL read files or URLs. This app never hands client input to GDAL's spatial
# reference parser (the API takes numbers and builds GEOS points in SRID 4326), and on Debian 13
# (GDAL 3.10) the check passes anyway. Silenced so that ``check --deploy --fail-level WARNING``
# gates deploys on both. Remove it if a view ever takes an SRS or WKT from a client.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = CONFIG.static_root
MEDIA_URL = "/media/"
MEDIA_ROOT = CONFIG.media_root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed file names (app.3f2a....css) let nginx cache static files for a long time; needs
    # ``collectstatic`` before a non-DEBUG start, which the deploy runs for every release.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {"django": {"handlers": ["console"], "level": CONFIG.log_level, "propagate": False}},
}
