"""The periodic reaper of stale sweep chunks: a django-q2 Schedule, every 5 minutes."""

from django.db import migrations

NAME = "optimizers: reap stale sweep chunks"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "optimizers.tasks.reap_stale_chunks", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("optimizers", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
