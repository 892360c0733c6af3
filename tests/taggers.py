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


class FlakyTagger(KeywordTagger):
    """The keyword tagger, 100 entries a call, that cannot tag a call holding an entry with `POISON`
    while the file `down` exists (the tests remove it to have the service come back)."""

    batch_size = 100

    def __init__(self, *, down: str) -> None:
        super().__init__()
        self.down = down

    def tag(self, entries: Sequence[str]) -> list[TaggedEntry]:
        import os

        from tagging.taggers import TaggerError

        if os.path.exists(self.down) and any("POISON" in entry for entry in entries):
            raise TaggerError("the tagging service is unavailable", code="llm_unavailable")
        return super().tag(entries)
