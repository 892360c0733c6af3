"""Pack entries into requests by count and by an estimate of their tokens."""
from __future__ import annotations

from collections.abc import Iterable

# The JSON around one entry's text, {"index": 12, "text": ""}, costs about this many tokens.
ENTRY_OVERHEAD = 8


def estimate_tokens(text: str) -> int:
    """Return a cheap estimate of the prompt tokens one entry costs (about 4 characters a token)."""
    return -(-len(text) // 4) + ENTRY_OVERHEAD


def pack(entries: Iterable[tuple[int, str]], *, max_entries: int, max_tokens: int) -> list[list[int]]:
    """Group (index, text) pairs, in order, into lists of indexes within both limits.

    An entry larger than `max_tokens` on its own still goes, alone in its request.
    """
    groups: list[list[int]] = []
    group: list[int] = []
    tokens = 0
    for index, text in entries:
        cost = estimate_tokens(text)
        if group and (len(group) >= max_entries or tokens + cost > max_tokens):
            groups.append(group)
            group, tokens = [], 0
        group.append(index)
        tokens += cost
    if group:
        groups.append(group)
    return groups
