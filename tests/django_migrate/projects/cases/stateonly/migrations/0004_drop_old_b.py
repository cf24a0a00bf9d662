"""The seeds' second deploy: the real DROP COLUMN, in RunSQL, marked post-deploy."""

from django.db import migrations


class Migration(migrations.Migration):
    post_deploy = True

    dependencies = [("stateonly", "0003_forget_old_b")]

    operations = [
        migrations.RunSQL(sql="ALTER TABLE stateonly_thing DROP COLUMN old_b", reverse_sql=migrations.RunSQL.noop),
    ]
