from django.db import migrations, models

from markers.compat import Stage


class Migration(migrations.Migration):
    stage = Stage.PRE_DEPLOY

    dependencies = [("markers", "0001_initial")]

    operations = [
        migrations.AddField(model_name="item", name="c", field=models.CharField(max_length=10, null=True)),
    ]
