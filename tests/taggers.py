"""Taggers for tests that need tagging to take time."""
import time
from collections.abc import Sequence

from tagging.taggers import TaggedEntry
from tagging.taggers.keywords import KeywordTagger


class SlowTagger(KeywordTagger):
    """The keyword tagger, one entry per call, `delay` seconds each."""

    batch_size = 1

    def __init__(self, *, delay: float = 0.1) -> None:
        super().__init__()
        self.delay = delay

    def tag(self, entries: Sequence[str]) -> list[TaggedEntry]:
        time.sleep(self.delay * len(entries))
        return super().tag(entries)
