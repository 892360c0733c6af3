"""Pluggable taggers, selected by `settings.TAGGING = {"BACKEND": ..., "OPTIONS": {...}}`."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import TAG_TYPE, BaseTagger, TaggedEntry, TaggerError, Usage

__all__ = ["TAG_TYPE", "BaseTagger", "TaggedEntry", "TaggerError", "Usage", "get_tagger"]

DEFAULT_BACKEND = "tagging.taggers.keywords.KeywordTagger"


def get_tagger() -> BaseTagger:
    """Build the tagger that `settings.TAGGING` names; raise `ImproperlyConfigured` if it cannot."""
    config = getattr(settings, "TAGGING", {}) or {}
    backend = config.get("BACKEND") or DEFAULT_BACKEND
    try:
        tagger_class = import_string(backend)
    except ImportError as exc:
        raise ImproperlyConfigured(f"TAGGING['BACKEND'] {backend!r} cannot be imported: {exc}") from exc
    try:
        return tagger_class(**config.get("OPTIONS", {}))
    except TypeError as exc:
        raise ImproperlyConfigured(f"TAGGING['OPTIONS'] do not fit {backend}: {exc}") from exc
