"""Check and normalise the tags an LLM gives for one entry.

Junk makes the whole entry's answer unusable (it is asked again): tags that are not a
list of strings, more than `MAX_TAGS` tags, a tag longer than `MAX_TAG_LENGTH` characters,
or one with control or format characters (newlines, NUL, zero-width spaces). Otherwise
each tag is trimmed, its inner whitespace collapsed, and mapped through the keyword
tagger's `canonical_name()`, so "postgres", "Postgres" and "PostgreSQL" are one tag.
Names the gazetteer does not know are kept as the model wrote them: finding technologies
beyond a curated list is what a model is for. Empty tags and placeholders ("none",
"N/A") are dropped. Tags are deduplicated per entry, ignoring case, first one kept.
"""
from __future__ import annotations

import unicodedata

from ..keywords import canonical_name

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
# What a model writes when it means "no technology".
PLACEHOLDERS = frozenset({"none", "n/a", "na", "null", "nil", "unknown", "-", "--", "no technology"})


class JunkTags(ValueError):
    """The tags of one entry are unusable; the message says why, for people."""


def clean_tags(values: object) -> tuple[str, ...]:
    """Return the canonical, deduplicated tags in `values`; raise `JunkTags` if they are junk."""
    if not isinstance(values, list):
        raise JunkTags("its tags were not a list")
    if len(values) > MAX_TAGS:
        raise JunkTags(f"it had {len(values)} tags, more than {MAX_TAGS}")
    found: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise JunkTags("a tag was not a string")
        if any(unicodedata.category(char)[0] == "C" for char in value):
            raise JunkTags("a tag contained control characters")
        name = " ".join(value.split())
        if len(name) > MAX_TAG_LENGTH:
            raise JunkTags(f"a tag was longer than {MAX_TAG_LENGTH} characters")
        if not name or name.casefold() in PLACEHOLDERS:
            continue
        name = canonical_name(name) or name
        found.setdefault(name.casefold(), name)
    return tuple(found.values())
