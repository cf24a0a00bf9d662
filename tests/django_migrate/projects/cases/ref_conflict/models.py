from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=100)
    a = models.CharField(max_length=10, null=True)
    b = models.CharField(max_length=10, null=True)
