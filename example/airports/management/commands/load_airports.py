"""Load the airports of ``airports.dataset``: real ones, then synthetic ones past 220 KiB of JSON.

Idempotent: airports are matched by IATA code; missing ones are created, ones whose name or
location differ are updated, the rest (and airports created through the API) are left alone. A
second run changes nothing and says so.
"""

from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand
from django.db import transaction

from airports import dataset
from airports.models import Airport
from airports.views import airport_row, forget_airport_list


class Command(BaseCommand):
    help = "Load real and synthetic airports until GET /api/airports is larger than 220 KiB (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--target-bytes",
            type=int,
            default=dataset.TARGET_BYTES,
            help="add synthetic airports until the JSON list is larger than this (default %(default)s)",
        )

    def handle(self, *args, target_bytes, **options):
        wanted = {row["iata"]: row for row in dataset.dataset(target_bytes)}
        existing = {airport.iata: airport for airport in Airport.objects.filter(iata__in=wanted)}
        created, updated = [], []
        for iata, row in wanted.items():
            airport = existing.get(iata)
            if airport is None:
                created.append(Airport(iata=iata, name=row["name"], location=Point(row["lon"], row["lat"], srid=4326)))
            elif airport_row(airport) != row:
                airport.name = row["name"]
                airport.location = Point(row["lon"], row["lat"], srid=4326)
                updated.append(airport)
        with transaction.atomic():
            Airport.objects.bulk_create(created, batch_size=500)
            Airport.objects.bulk_update(updated, ["name", "location"], batch_size=500)
        if created or updated:
            forget_airport_list()
        unchanged = len(wanted) - len(created) - len(updated)
        self.stdout.write(f"airports: {len(created)} created, {len(updated)} updated, {unchanged} unchanged")
