"""The shared job lifecycle (jobs.models): ``errored``, heartbeats, the doorbell's
``sent_at``; a chunk's ``claimed_at`` is now ``started_at`` like a run's. The reaper
schedule is gone: every qcluster runs the housekeeper instead."""

from django.db import migrations, models

OLD_SCHEDULE = "optimizers.tasks.reap_stale_chunks"


def drop_old_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=OLD_SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("optimizers", "0003_trial_ranking_index"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="sweepchunk", name="optimizers__status_1f1fe8_idx"),
        migrations.RenameField(model_name="sweepchunk", old_name="claimed_at", new_name="started_at"),
        migrations.AddIndex(
            model_name="sweepchunk",
            index=models.Index(fields=["status", "started_at"], name="optimizers__status_90e718_idx"),
        ),
        migrations.AddField(
            model_name="sweepchunk", name="heartbeat_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="sweepchunk", name="sent_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AlterField(
            model_name="optimizationrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("errored", "Errored"),
                    ("cancelled", "Cancelled"),
                ],
                db_index=True,
                default="queued",
                max_length=16,
            ),
        ),
        migrations.RunPython(drop_old_schedule, migrations.RunPython.noop),
    ]
