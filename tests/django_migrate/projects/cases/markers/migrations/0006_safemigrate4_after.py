from django.db import migrations, models

from markers.compat import SafeEnum


class Migration(migrations.Migration):
    safe = SafeEnum.after_deploy

    dependencies = [("markers", "0001_initial")]

    operations = [
        migrations.AddField(model_name="item", name="e", field=models.CharField(max_length=10, null=True)),
    ]
