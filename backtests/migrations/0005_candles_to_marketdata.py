"""Candle and CandleSeries now belong to the marketdata app (its 0001): state only,
the tables stay where they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("backtests", "0004_stale_run_schedule"),
        ("marketdata", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Candle"), migrations.DeleteModel(name="CandleSeries")],
            database_operations=[],
        )
    ]
