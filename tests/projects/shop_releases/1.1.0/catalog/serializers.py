from rest_framework import serializers

from .models import Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        # 1.1.0: legacy_code is no longer read (1.2.0 drops it); stock is new.
        fields = ["id", "name", "sku", "price", "stock"]
