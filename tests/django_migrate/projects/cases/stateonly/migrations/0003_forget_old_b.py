"""The seeds' "fake" migration: RunSQL.noop with state_operations, pre-deploy safe."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("stateonly", "0002_forget_old_a")]

    operations = [
        migrations.RunSQL(
            sql=migrations.RunSQL.noop,
            reverse_sql=migrations.RunSQL.noop,
            state_operations=[migrations.RemoveField(model_name="thing", name="old_b")],
        ),
    ]
