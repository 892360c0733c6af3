"""The tagger contract: one method, `tag(entries)`, shared by every backend."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from asyncrest import JobError

TAG_TYPE = "tech-stack"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaggedEntry:
    """The canonical tags found in one entry, or why none could be found."""

    tags: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """What a tagger spent on a call; zero for offline taggers."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Every count by name, as an order's usage keeps them."""
        return {"requests": self.requests, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, **self.extra}


class BaseTagger:
    """Find technologies in free-text log entries.

    Subclasses implement `tag()`. Options from `TAGGING["OPTIONS"]` arrive as keyword
    arguments; an unknown option raises `TypeError`, which `get_tagger()` turns into
    `ImproperlyConfigured`.
    """

    #: Whether one `tag()` call with many entries is cheaper than many calls with one.
    supports_batching: bool = False
    #: How many entries a caller should hand to one `tag()` call.
    batch_size: int = 500
    #: What the last `tag()` call spent; offline taggers spend nothing.
    last_usage: Usage = Usage()

    def __init__(self, **options) -> None:
        if options:
            raise TypeError(f"unexpected options: {', '.join(sorted(options))}")

    def tag(self, entries: Sequence[str]) -> list[TaggedEntry]:
        """Return one `TaggedEntry` per entry, in order; raise `TaggerError` if none can be tagged."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections or pools held by the tagger."""


class TaggerError(JobError):
    """The tagger cannot tag at all (service unreachable, misconfigured); `code` names why."""

    code = "tagging_failed"
