from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class AsyncrestConfig(AppConfig):
    name = "asyncrest"
    verbose_name = "Async orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        # Each installed app declares its resources in its own jobs.py.
        autodiscover_modules("jobs")
