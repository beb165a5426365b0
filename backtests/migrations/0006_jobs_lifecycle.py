"""The shared job lifecycle (jobs.models): ``errored``, heartbeats, the doorbell's
``sent_at``. The stale-run schedule is gone: every qcluster runs the housekeeper."""

from django.db import migrations, models

OLD_SCHEDULE = "backtests.tasks.fail_stale_runs"


def drop_old_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=OLD_SCHEDULE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('backtests', '0005_candles_to_marketdata'),
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
    ]

    operations = [
        migrations.AddField(
            model_name='backtestrun',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='backtestrun',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='backtestrun',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('errored', 'Errored'), ('cancelled', 'Cancelled')], db_index=True, default='queued', max_length=16),
        ),
        migrations.RunPython(drop_old_schedule, migrations.RunPython.noop),
    ]
