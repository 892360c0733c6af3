from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = "Tech-stack tagging"
    default_auto_field = "django.db.models.BigAutoField"
