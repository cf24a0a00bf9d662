"""Joins the branches; depends on post-deploy migrations, so it is post-deploy itself."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("markers", "0002_flag_post"),
        ("markers", "0003_syzygy_post"),
        ("markers", "0004_syzygy_pre"),
        ("markers", "0005_safemigrate5_after"),
        ("markers", "0006_safemigrate4_after"),
        ("markers", "0007_safemigrate5_before"),
        ("markers", "0008_safemigrate4_always"),
        ("markers", "0009_unmarked"),
    ]

    operations = []
