from django.db import migrations, models


class Migration(migrations.Migration):
    # no marker: pre-deploy

    dependencies = [("markers", "0001_initial")]

    operations = [
        migrations.AddField(model_name="item", name="h", field=models.CharField(max_length=10, null=True)),
    ]
