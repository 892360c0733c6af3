from importlib import import_module

from django.apps import AppConfig, apps
from django.utils.module_loading import module_has_submodule

#: Installed apps whose `jobs` module declares no asyncrest resources (RQ's own job helpers).
NOT_RESOURCE_APPS = {"asyncrest", "django_rq"}


class AsyncrestConfig(AppConfig):
    name = "asyncrest"
    verbose_name = "Async orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .broker.pubsub import publish_on_change
        from .signals import order_changed, order_finished
        from .webhooks.delivery import schedule_on_finish

        # Long polls and webhooks are receivers of the lifecycle's signals.
        order_changed.connect(publish_on_change, dispatch_uid="asyncrest.broker.pubsub")
        order_finished.connect(schedule_on_finish, dispatch_uid="asyncrest.webhooks")
        discover_jobs()


def discover_jobs() -> None:
    """Import each installed app's `jobs` module, where it registers its resources."""
    for app_config in apps.get_app_configs():
        if app_config.name not in NOT_RESOURCE_APPS and module_has_submodule(app_config.module, "jobs"):
            import_module(f"{app_config.name}.jobs")
