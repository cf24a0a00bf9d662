from django.contrib.gis.db import models


class Airport(models.Model):
    """An airport; its location is a PostGIS geography, so distances are on the spheroid, in metres."""

    iata = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=100)
    location = models.PointField(geography=True, srid=4326)

    class Meta:
        ordering = ("iata",)

    def __str__(self):
        return f"{self.iata} {self.name}"

    def as_dict(self):
        return {"iata": self.iata, "name": self.name, "lat": self.location.y, "lon": self.location.x}


class Distance(models.Model):
    """A distance asked for through the API and computed by a Celery task (``km`` is null until then)."""

    origin = models.ForeignKey(Airport, on_delete=models.CASCADE, related_name="+")
    destination = models.ForeignKey(Airport, on_delete=models.CASCADE, related_name="+")
    km = models.FloatField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.origin_id} -> {self.destination_id}: {self.km}"

    @property
    def status(self):
        return "done" if self.computed_at else "pending"
