from django.db import migrations

PRODUCTS = [
    ("Teapot", "TEA-001", "24.50", "T1"),
    ("Mug", "MUG-001", "8.00", "M1"),
    ("Kettle", "KET-001", "39.90", "K1"),
]


def seed(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    for name, sku, price, legacy_code in PRODUCTS:
        Product.objects.get_or_create(sku=sku, defaults={"name": name, "price": price, "legacy_code": legacy_code})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
