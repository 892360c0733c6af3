"""The task both peers run: tag the order's entry and store the Log and Tags, as the tagging job does."""
from django.db import transaction
from django.utils import timezone

from tagging.models import Log, Tag
from tagging.taggers import TAG_TYPE, get_tagger

from .models import PeerOrder


def tag_order(pk: str) -> None:
    if not PeerOrder.objects.filter(pk=pk, status="queued").update(status="running", started_at=timezone.now()):
        return  # delivered twice, or already done
    owner_id, entry = PeerOrder.objects.values_list("owner_id", "entry").get(pk=pk)
    try:
        (result,) = get_tagger().tag([entry])
        with transaction.atomic():
            log = Log.objects.create(owner_id=owner_id, entry=entry)
            Tag.objects.bulk_create([Tag(type=TAG_TYPE, value=value, log=log) for value in result.tags])
            PeerOrder.objects.filter(pk=pk).update(status="completed", log_id=log.pk, finished_at=timezone.now())
    except Exception as exc:
        PeerOrder.objects.filter(pk=pk).update(status="failed", error=str(exc)[:500], finished_at=timezone.now())
        raise
