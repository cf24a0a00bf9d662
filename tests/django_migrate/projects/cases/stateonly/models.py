"""Release 2 forgets old_a and old_b in the state only; release 3 drops old_b with RunSQL (marked post)."""

from django.db import models


class Thing(models.Model):
    name = models.CharField(max_length=100)
