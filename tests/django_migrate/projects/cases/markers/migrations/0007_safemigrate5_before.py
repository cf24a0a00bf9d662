from django.db import migrations, models

from markers.compat import Safe


class Migration(migrations.Migration):
    safe = Safe.before_deploy()

    dependencies = [("markers", "0001_initial")]

    operations = [
        migrations.AddField(model_name="item", name="f", field=models.CharField(max_length=10, null=True)),
    ]
