from django.db import models


class Volume(models.Model):
    title = models.CharField(max_length=100)
