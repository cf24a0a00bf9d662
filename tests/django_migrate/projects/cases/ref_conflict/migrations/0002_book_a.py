from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ref_conflict", "0001_initial")]

    operations = [
        migrations.AddField(model_name="book", name="a", field=models.CharField(max_length=10, null=True)),
    ]
