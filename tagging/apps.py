from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = "Tech-stack tagging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from asyncrest.signals import order_finished, worker_started

        from .taggers.keywords import load_on_worker_start
        from .uploads import remove_upload_on_finish

        # An order's upload goes when the order ends, whatever the end.
        order_finished.connect(remove_upload_on_finish, dispatch_uid="tagging.uploads")
        # Both taggers spell tags through the gazetteer: a worker loads it before its first order.
        worker_started.connect(load_on_worker_start, dispatch_uid="tagging.gazetteer")
