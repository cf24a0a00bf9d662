"""Celery tasks: ``celery --app example worker`` runs them."""

from celery import shared_task
from django.contrib.gis.db.models.functions import Distance as GeoDistance
from django.db import OperationalError
from django.utils import timezone

from .models import Distance


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def compute_distance(distance_id):
    """Compute a requested distance in PostGIS (ST_Distance on geography: metres on the spheroid).

    Idempotent: running it twice writes the same value, so a task redelivered after a worker
    stopped mid-way (acks_late) does no harm. Returns the kilometres, or None when the request is gone.
    """
    metres = (
        Distance.objects.filter(pk=distance_id)
        .annotate(metres=GeoDistance("origin__location", "destination__location"))
        .values_list("metres", flat=True)
        .first()
    )
    if metres is None:
        return None
    Distance.objects.filter(pk=distance_id).update(km=metres.km, computed_at=timezone.now())
    return metres.km
