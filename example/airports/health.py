"""The checks behind ``/healthz``: each one talks to its service for real, with a short timeout.

A check returns nothing when the service answered and raises otherwise. The details of a failure
go to the log (``airports.health``), not into the public response.
"""

import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 3
MONGODB_TIMEOUT_MS = 2000

_mongodb_client = None
_mongodb_lock = threading.Lock()


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not return 1")


def check_cache():
    key = f"healthz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the value read back differs from the value written")
    finally:
        cache.delete(key)


def check_broker():
    from kombu import Connection  # celery brings kombu

    tls = dict(settings.CELERY_BROKER_USE_SSL) if settings.CELERY_BROKER_USE_SSL else False
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT, ssl=tls) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)


def _mongodb():
    global _mongodb_client  # one client per process, made on first use
    with _mongodb_lock:
        if _mongodb_client is None:
            import pymongo  # optional: needed only when MONGODB_URL is set

            _mongodb_client = pymongo.MongoClient(
                settings.MONGODB_URL,
                serverSelectionTimeoutMS=MONGODB_TIMEOUT_MS,
                connectTimeoutMS=MONGODB_TIMEOUT_MS,
                appname="example-healthz",
            )
        return _mongodb_client


def check_mongodb():
    _mongodb().admin.command("ping")


def checks():
    """The checks that apply to this configuration, in the order they run."""
    found = {"database": check_database, "cache": check_cache, "broker": check_broker}
    if settings.MONGODB_URL:
        found["mongodb"] = check_mongodb
    return found


def run_checks():
    """-> (ok, {name: "ok" | "fail"}, {name: milliseconds})."""
    results, timings = {}, {}
    for name, check in checks().items():
        started = time.monotonic()
        try:
            check()
        except Exception:
            logger.exception("health check %s failed", name)
            results[name] = "fail"
        else:
            results[name] = "ok"
        timings[name] = round((time.monotonic() - started) * 1000, 1)
    return all(result == "ok" for result in results.values()), results, timings
