from django.db import migrations, models


class Migration(migrations.Migration):
    post_deploy = True

    dependencies = [("markers", "0001_initial")]

    operations = [
        migrations.AddField(model_name="item", name="a", field=models.CharField(max_length=10, null=True)),
    ]
