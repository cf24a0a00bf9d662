from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)
    sku = models.CharField(max_length=32, unique=True)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    # 1.1.0: a database default, so that 1.0.0 keeps inserting while 1.1.0 rolls out.
    stock = models.PositiveIntegerField(db_default=0)

    def __str__(self):
        return self.name


class Order(models.Model):
    """Written by the Celery task place_order, never by a request."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    reference = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
