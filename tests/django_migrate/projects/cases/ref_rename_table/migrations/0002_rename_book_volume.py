from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ref_rename_table", "0001_initial")]

    operations = [
        migrations.RenameModel(old_name="Book", new_name="Volume"),
    ]
