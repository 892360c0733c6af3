import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")

app = Celery("peersite")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(ignore_result=True)
def tag_order(pk: str) -> None:
    from .work import tag_order as run

    run(pk)
