"""Candles and their coverage records; on PostgreSQL the candle table becomes a hypertable.

Chunks span 30 days of ``ts``: one month of 1m bars is about 43,000 rows (some 6 MB with
its index) per series, so a few hundred series keep the chunks being written well inside
memory, while a year of reads touches only about 12 chunks per series. TimescaleDB's
default ``ts DESC`` index is not created: every query filters on (symbol, timeframe)
first, which the primary key already serves.

Native compression and the daily continuous aggregate are Timescale-licence features.
On the Apache build (``timescaledb.license = apache``) they are skipped with one log
line; the hypertable itself works on both.
"""

import logging

from django.db import migrations, models

logger = logging.getLogger("backtests.migrations")

CHUNK_INTERVAL = "30 days"
DAILY_VIEW = "backtests_candle_daily"

TIMESCALE_LICENSED_SQL = [
    "ALTER TABLE backtests_candle SET (timescaledb.compress, "
    "timescaledb.compress_segmentby = 'symbol, timeframe', timescaledb.compress_orderby = 'ts')",
    "SELECT add_compression_policy('backtests_candle', compress_after => INTERVAL '90 days', "
    "if_not_exists => true)",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {DAILY_VIEW} WITH (timescaledb.continuous) AS "
    "SELECT symbol, timeframe, time_bucket(INTERVAL '1 day', ts) AS day, "
    "first(open, ts) AS open, max(high) AS high, min(low) AS low, last(close, ts) AS close, "
    "sum(volume) AS volume, count(*) AS bars "
    "FROM backtests_candle GROUP BY symbol, timeframe, day WITH NO DATA",
    f"SELECT add_continuous_aggregate_policy('{DAILY_VIEW}', start_offset => NULL, "
    "end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour', if_not_exists => true)",
]


def add_licensed_features(cursor) -> bool:
    """Add compression and the daily continuous aggregate when the licence allows them.

    Returns whether they were added. On any other licence, logs one line and changes
    nothing: a migration must never fail because of the TimescaleDB build.
    """
    cursor.execute("SELECT current_setting('timescaledb.license', true)")
    row = cursor.fetchone()
    license_name = (row[0] if row else None) or "unknown"
    if license_name != "timescale":
        logger.info(
            "TimescaleDB licence is %r, not 'timescale': skipping candle compression and the "
            "daily continuous aggregate (the hypertable is unaffected)",
            license_name,
        )
        return False
    for statement in TIMESCALE_LICENSED_SQL:
        cursor.execute(statement)
    return True


def hypertable_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        cursor.execute(
            "SELECT create_hypertable('backtests_candle', by_range('ts', INTERVAL %s), "
            "create_default_indexes => false, if_not_exists => true)",
            [CHUNK_INTERVAL],
        )
        add_licensed_features(cursor)


def hypertable_drop_extras(apps, schema_editor):
    # The continuous aggregate depends on the table: drop it before the table goes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {DAILY_VIEW}")


class Migration(migrations.Migration):
    dependencies = [
        ("backtests", "0001_timescaledb"),
    ]

    operations = [
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
            options={
                "db_table": "backtests_candle",
            },
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
                "ordering": ["symbol", "timeframe"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("symbol", "timeframe"), name="candleseries_symbol_timeframe_uniq"
                    )
                ],
            },
        ),
        migrations.RunPython(hypertable_create, hypertable_drop_extras),
    ]
