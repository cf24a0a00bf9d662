from celery import shared_task

from .models import Order, Product


@shared_task
def place_order(sku, reference):
    """Write the order (idempotent: a task delivered twice writes one row)."""
    product = Product.objects.get(sku=sku)
    Order.objects.get_or_create(reference=reference, defaults={"product": product})
