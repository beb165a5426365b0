from django.apps import AppConfig


class SpecsConfig(AppConfig):
    name = "specs"
    default_auto_field = "django.db.models.BigAutoField"
