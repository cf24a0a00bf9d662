"""The new release: Airport without name (dropped after the deploy) and with a country."""

from django.db import models


class Airport(models.Model):
    iata = models.CharField(max_length=3, unique=True)
    country = models.CharField(max_length=2, db_default="")
