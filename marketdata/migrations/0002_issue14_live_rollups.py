"""Live sync state on the coverage records, rollup tables, and two django-q2 schedules:
the live sync (every LIVE_SYNC_MINUTES) and candle maintenance (rollups, retention;
every CANDLE_MAINTENANCE_MINUTES). The tasks correct their schedule's interval when
the setting changes later (marketdata.tasks)."""

from django.conf import settings
from django.db import migrations, models

SCHEDULES = {
    "marketdata: sync live": ("marketdata.tasks.sync_live", "LIVE_SYNC_MINUTES"),
    "marketdata: candle maintenance": ("marketdata.tasks.candles_maintain", "CANDLE_MAINTENANCE_MINUTES"),
}


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, (func, setting) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": getattr(settings, setting), "repeats": -1},
        )


def delete_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('marketdata', '0001_initial'),
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
    ]

    operations = [
        migrations.CreateModel(
            name='RollupCandle',
            fields=[
                ('pk', models.CompositePrimaryKey('symbol', 'timeframe', 'source_timeframe', 'ts', blank=True, editable=False, primary_key=True, serialize=False)),
                ('symbol', models.CharField(max_length=64)),
                ('timeframe', models.CharField(max_length=8)),
                ('source_timeframe', models.CharField(max_length=8)),
                ('ts', models.DateTimeField()),
                ('open', models.FloatField()),
                ('high', models.FloatField()),
                ('low', models.FloatField()),
                ('close', models.FloatField()),
                ('volume', models.FloatField()),
                ('bars', models.IntegerField()),
            ],
        ),
        migrations.AddField(
            model_name='candleseries',
            name='live_error',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='candleseries',
            name='live_key',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.AddField(
            model_name='candleseries',
            name='live_synced_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='CandleRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('symbol', models.CharField(max_length=64)),
                ('source_timeframe', models.CharField(max_length=8)),
                ('timeframe', models.CharField(max_length=8)),
                ('materialized_to', models.DateTimeField(blank=True, null=True)),
                ('refreshed_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('symbol', 'source_timeframe', 'timeframe'), name='candlerollup_series_uniq')],
            },
        ),
        migrations.RunPython(create_schedules, delete_schedules),
    ]
