from django.apps import AppConfig


class TestPluginsConfig(AppConfig):
    name = "tests.plugins"
    label = "test_plugins"

    def ready(self) -> None:
        from tests.plugins.sleepy import register

        register()
