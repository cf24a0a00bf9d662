from django.db import models


class Book(models.Model):
    heading = models.CharField(max_length=100)
