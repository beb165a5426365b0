"""Create the TimescaleDB extension on PostgreSQL (a no-op on SQLite).

Later migrations turn tables into hypertables; the extension must exist first.
"""

from django.db import migrations


def create_extension(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunPython(create_extension, migrations.RunPython.noop)]
