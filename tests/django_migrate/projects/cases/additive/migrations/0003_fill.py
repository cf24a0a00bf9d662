"""RunPython and RunSQL without a marker: pre-deploy."""

from django.db import migrations


def fill_subtitles(apps, schema_editor):
    Book = apps.get_model("additive", "Book")
    Book.objects.using(schema_editor.connection.alias).filter(subtitle=None).update(subtitle="(none)")


class Migration(migrations.Migration):
    dependencies = [("additive", "0002_grow")]

    operations = [
        migrations.RunPython(fill_subtitles, migrations.RunPython.noop),
        migrations.RunSQL("COMMENT ON TABLE additive_book IS 'books'", "COMMENT ON TABLE additive_book IS NULL"),
    ]
