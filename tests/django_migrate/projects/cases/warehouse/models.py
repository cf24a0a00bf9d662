"""The seeds' warehouse: play records kept in their own database (see casesite.routers)."""

from django.db import models


class PlayRecord(models.Model):
    song_id = models.IntegerField()
    user_id = models.IntegerField(null=True, blank=True)
    is_full = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField()
    location = models.CharField(max_length=2)
    created_at = models.DateTimeField()
    duration = models.IntegerField(null=True)
