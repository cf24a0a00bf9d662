"""State-only removal: the column stays in the database, so this is pre-deploy safe."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("stateonly", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="thing", name="old_a")],
            database_operations=[],
        ),
    ]
