from django.apps import AppConfig


class OptimizersConfig(AppConfig):
    name = "optimizers"
    default_auto_field = "django.db.models.BigAutoField"
