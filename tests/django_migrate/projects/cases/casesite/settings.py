"""Settings of the rule-case project. Everything that differs between tests comes from the environment.

DJM_APPS         comma-separated apps to install (each app is one case)
DJM_DB_HOST/PORT/USER/PASSWORD/NAME   the default database
DJM_WAREHOUSE_NAME                    when set, a second alias `warehouse` (the seeds' layout)
"""

import os

SECRET_KEY = os.environ.get("DJM_SECRET_KEY", "django-migrate-tests-only")
DEBUG = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [app for app in os.environ.get("DJM_APPS", "").split(",") if app]


def database(name):
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("DJM_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DJM_DB_PORT", "5432"),
        "USER": os.environ.get("DJM_DB_USER", ""),
        "PASSWORD": os.environ.get("DJM_DB_PASSWORD", ""),
        "NAME": name,
    }


DATABASES = {"default": database(os.environ.get("DJM_DB_NAME", "djm"))}
if os.environ.get("DJM_WAREHOUSE_NAME"):
    DATABASES["warehouse"] = database(os.environ["DJM_WAREHOUSE_NAME"])
DATABASE_ROUTERS = ["casesite.routers.WarehouseRouter"]
