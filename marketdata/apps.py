from django.apps import AppConfig


class MarketdataConfig(AppConfig):
    name = "marketdata"
    verbose_name = "market data"
    default_auto_field = "django.db.models.BigAutoField"
