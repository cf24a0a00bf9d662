from django.db import migrations, models

from markers.compat import SafeEnum


class Migration(migrations.Migration):
    safe = SafeEnum.always

    dependencies = [("markers", "0001_initial")]

    operations = [
        migrations.AddField(model_name="item", name="g", field=models.CharField(max_length=10, null=True)),
    ]
