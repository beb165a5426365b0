"""Candle and CandleSeries move here from the backtests app: state only.

Their tables (``backtests_candle``, a hypertable on PostgreSQL, and
``backtests_candleseries``) were created by backtests 0002 and keep their names, so
nothing in the database changes but the content types' app label (their admin
permissions follow them).
"""

from django.db import migrations, models

MOVED = ("candle", "candleseries")


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="backtests", model__in=MOVED).update(app_label="marketdata")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="marketdata", model__in=MOVED).update(app_label="backtests")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("backtests", "0004_stale_run_schedule"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Candle",
                    fields=[
                        (
                            "pk",
                            models.CompositePrimaryKey(
                                "symbol",
                                "timeframe",
                                "ts",
                                blank=True,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("symbol", models.CharField(max_length=64)),
                        ("timeframe", models.CharField(max_length=8)),
                        ("ts", models.DateTimeField()),
                        ("open", models.FloatField()),
                        ("high", models.FloatField()),
                        ("low", models.FloatField()),
                        ("close", models.FloatField()),
                        ("volume", models.FloatField()),
                    ],
                    options={"db_table": "backtests_candle"},
                ),
                migrations.CreateModel(
                    name="CandleSeries",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("symbol", models.CharField(max_length=64)),
                        ("timeframe", models.CharField(max_length=8)),
                        ("first_ts", models.DateTimeField(blank=True, null=True)),
                        ("last_ts", models.DateTimeField(blank=True, null=True)),
                        ("row_count", models.BigIntegerField(default=0)),
                        ("gap_count", models.IntegerField(default=0)),
                        ("missing_bars", models.BigIntegerField(default=0)),
                        ("gaps", models.JSONField(blank=True, default=list)),
                        ("zero_volume_count", models.BigIntegerField(default=0)),
                        ("loaded_at", models.DateTimeField(blank=True, null=True)),
                        ("source", models.TextField(blank=True, default="")),
                        ("load_version", models.PositiveIntegerField(default=0)),
                        ("last_inserted", models.BigIntegerField(default=0)),
                        ("last_updated", models.BigIntegerField(default=0)),
                        ("last_rejected", models.BigIntegerField(default=0)),
                    ],
                    options={
                        "verbose_name": "candle series",
                        "verbose_name_plural": "candle series",
                        "db_table": "backtests_candleseries",
                        "ordering": ["symbol", "timeframe"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("symbol", "timeframe"), name="candleseries_symbol_timeframe_uniq"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
