from django.apps import AppConfig


class MyAppConfig(AppConfig):
    name = "myapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the post_save receiver that pushes new notes to websocket clients.
        from myapp import signals  # noqa: F401
