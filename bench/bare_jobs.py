"""The bare RQ job of bench/orders.py: the tagging of one entry, without an order around it."""
from __future__ import annotations

from tagging.models import Log, Tag
from tagging.taggers import TAG_TYPE, get_tagger


def tag_entry(entry: str) -> int:
    """Tag `entry` and store it as a Log with its Tags, as the tagging job does; return the log id."""
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username="bench")
    (result,) = get_tagger().tag([entry])
    log = Log.objects.create(owner=owner, entry=entry)
    Tag.objects.bulk_create([Tag(type=TAG_TYPE, value=value, log=log) for value in result.tags])
    return log.pk
