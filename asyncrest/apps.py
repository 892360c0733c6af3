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
        connect_token_cache()
        discover_jobs()


def connect_token_cache() -> None:
    """Have asyncrest.auth.CachedTokenAuthentication forget a token or user as soon as it changes here."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from .auth import forget_token, forget_user

    if apps.is_installed("rest_framework.authtoken"):
        from rest_framework.authtoken.models import Token

        for signal in (post_save, post_delete):
            signal.connect(forget_token, sender=Token, dispatch_uid="asyncrest.auth.token")
    if apps.is_installed("django.contrib.auth"):
        for signal in (post_save, post_delete):
            signal.connect(forget_user, sender=get_user_model(), dispatch_uid="asyncrest.auth.user")


def discover_jobs() -> None:
    """Import each installed app's `jobs` module, where it registers its resources."""
    for app_config in apps.get_app_configs():
        if app_config.name not in NOT_RESOURCE_APPS and module_has_submodule(app_config.module, "jobs"):
            import_module(f"{app_config.name}.jobs")
