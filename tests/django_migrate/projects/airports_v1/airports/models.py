"""The old release: the seeds' Airport, with its NOT NULL name."""

from django.db import models


class Airport(models.Model):
    iata = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=30)
