"""Retry policies: which failures of a job are tried again, how often, and how long apart.

`register(..., retry=Retry(on=(TransientError,), max_attempts=5, backoff=2, max_delay=300))`
retries an order whose job raised one of `on`; a job can also ask for a retry itself by
raising `asyncrest.RetryLater`. Between attempts the order stays `running`, without an
execution, and its body says when the next attempt is due and how many are left.

Importable before Django's app registry is ready (settings and jobs modules import it).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

#: The longest wait between two attempts that a policy may ask for (a day): a retry further off
#: is better placed again by the client.
LONGEST_DELAY = 24 * 60 * 60


def _exception_classes(on) -> tuple[type[BaseException], ...]:
    classes = (on,) if isinstance(on, type) else tuple(on)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise ImproperlyConfigured(f"asyncrest: Retry(on=...) takes exception classes, not {cls!r}.")
    return classes


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """Try an order again when its job raises one of `on`, up to `max_attempts` attempts in all.

    The wait before retry n is `backoff` seconds doubled n - 1 times, at most `max_delay`;
    with `jitter` it is drawn uniformly from the upper half of that (so that orders that
    failed together do not all come back together, and never sooner than half the wait).
    `max_attempts=None` takes the resource's `max_attempts`, else `ASYNCREST["MAX_ATTEMPTS"]`.

    Failures of Redis or the database are retried whatever `on` says, and so is a worker
    lost mid-job; both count against `max_attempts` and wait as this policy says.
    """

    on: tuple[type[BaseException], ...] = field(default=())
    max_attempts: int | None = None
    backoff: float = 5.0
    max_delay: float = 300.0
    jitter: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "on", _exception_classes(self.on))
        if self.max_attempts is not None and (
            not isinstance(self.max_attempts, int) or isinstance(self.max_attempts, bool) or self.max_attempts < 1
        ):
            raise ImproperlyConfigured("asyncrest: Retry(max_attempts=...) must be a whole number, 1 or more.")
        for name in ("backoff", "max_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= LONGEST_DELAY:
                raise ImproperlyConfigured(
                    f"asyncrest: Retry({name}=...) must be a number of seconds from 0 to {LONGEST_DELAY}."
                )
        if self.max_delay < self.backoff:
            raise ImproperlyConfigured("asyncrest: Retry(max_delay=...) may not be shorter than backoff=.")

    def retries(self, exc: BaseException) -> bool:
        """Whether this policy tries again after `exc`."""
        return bool(self.on) and isinstance(exc, self.on)

    def bounds(self, attempt: int) -> tuple[float, float]:
        """The shortest and longest wait after failed attempt `attempt` (1 for the first)."""
        longest = min(float(self.max_delay), self.backoff * 2.0 ** max(0, attempt - 1))
        return (longest / 2 if self.jitter else longest), longest

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` before the next one."""
        shortest, longest = self.bounds(attempt)
        return random.uniform(shortest, longest) if shortest < longest else longest


def default_retry() -> Retry:
    """The policy of a resource registered without one: nothing is retried but what asks to be
    (`RetryLater`) and infrastructure faults, `RETRY_BACKOFF` seconds apart, doubling."""
    from . import conf

    backoff = float(conf.get("RETRY_BACKOFF"))
    return Retry(backoff=backoff, max_delay=max(backoff, 300.0), jitter=False)
