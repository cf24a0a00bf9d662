"""One nullable column per marker style; each migration depends only on 0001, a merge joins them."""

from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    a = models.CharField(max_length=10, null=True)
    b = models.CharField(max_length=10, null=True)
    c = models.CharField(max_length=10, null=True)
    d = models.CharField(max_length=10, null=True)
    e = models.CharField(max_length=10, null=True)
    f = models.CharField(max_length=10, null=True)
    g = models.CharField(max_length=10, null=True)
    h = models.CharField(max_length=10, null=True)
