"""Release 2 drops a NOT NULL column, a nullable column, a many-to-many table and a table; then adds a
column in a migration that depends on the drops (so it waits for them)."""

from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Gadget(models.Model):
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=20, null=True)
