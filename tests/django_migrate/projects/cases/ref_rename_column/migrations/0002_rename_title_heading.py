from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ref_rename_column", "0001_initial")]

    operations = [
        migrations.RenameField(model_name="book", old_name="title", new_name="heading"),
    ]
