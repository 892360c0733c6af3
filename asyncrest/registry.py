"""The registry of resources: which job runs for `POST /async/<resource>/order/`."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .retries import Retry, default_retry

#: A resource's name is one URL path segment: letters, digits, `-` and `_`, starting with a letter or digit.
NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9_]{0,63}")

#: A resource that names no parsers takes JSON bodies only; any other media type is a 415.
DEFAULT_PARSERS = ("asyncrest.api.parsers.JSONParser",)

_registry: dict[str, Resource] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A registered job: its name in URLs, input serializer, parsers, function and RQ options."""

    name: str
    func: Callable
    serializer: type | None = None
    parsers: tuple = DEFAULT_PARSERS
    timeout: int | None = None
    queue: str | None = None
    max_attempts: int | None = None
    #: Up to this many queued orders run in one execution (None: one order per execution).
    coalesce: int | None = None
    #: `many(orders)` runs a whole batch at once: one outcome per order, a result or an exception.
    many: Callable | None = None
    #: `coalesce_if(input)` says which orders may join a batch (None: every order).
    coalesce_if: Callable | None = None
    #: Which failures are tried again and how (an `asyncrest.Retry`; None: `default_retry()`).
    retry: Retry | None = None
    #: Failed items a fanned-out order may have and still complete: a count, or a share of its
    #: items (0 < share <= 1); None: any failed part fails the order.
    tolerate: int | float | None = None
    #: Seconds a finished order is kept (None: `ASYNCREST["RETENTION"]`).
    retention: int | float | None = None
    #: `purge(order_ids)` deletes (or detaches) the results of orders about to be purged.
    purge: Callable | None = None

    def get_retention(self) -> int | float | None:
        """Seconds a finished order of the resource is kept before the purge; None: forever."""
        from . import conf

        return self.retention if self.retention is not None else conf.get("RETENTION")

    def tolerates(self) -> bool:
        """Whether an order of the resource may complete with some of its items failed."""
        return bool(self.tolerate)

    def allowed_failures(self, total: int | None) -> int:
        """How many of an order's `total` items may fail before the order fails."""
        if not self.tolerate:
            return 0
        if isinstance(self.tolerate, float):
            return int(self.tolerate * (total or 0) + 1e-9)
        return self.tolerate

    def coalesces(self, order_input) -> bool:
        """Whether an order with this validated input runs in a batch of the resource's orders."""
        from . import conf

        if not self.coalesce or not conf.get("COALESCE"):
            return False
        return self.coalesce_if is None or bool(self.coalesce_if(order_input))

    @property
    def dotted_path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def get_timeout(self) -> int:
        from . import conf

        return self.timeout or conf.get("DEFAULT_TIMEOUT")

    def get_max_attempts(self) -> int:
        from . import conf

        return self.max_attempts or (self.retry and self.retry.max_attempts) or conf.get("MAX_ATTEMPTS")

    def get_retry(self) -> Retry:
        """The resource's retry policy: its own, else the default one (see `asyncrest.retries`)."""
        return self.retry or default_retry()

    def get_parsers(self) -> list[type]:
        """The parser classes of the resource's order endpoint (dotted paths are imported here)."""
        return [import_string(parser) if isinstance(parser, str) else parser for parser in self.parsers]


def module_level_path(func: Callable, *, what: str) -> str:
    """Return `func`'s dotted path, or raise ImproperlyConfigured if a worker could not import it by that path."""
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", None)
    if not callable(func) or not module or not qualname:
        raise ImproperlyConfigured(f"asyncrest: {what} must be a function, not {func!r}.")
    if module == "__main__" or "<" in qualname or "." in qualname:
        raise ImproperlyConfigured(
            f"asyncrest: {what} {module}.{qualname} must be a module-level function of an importable "
            "module: workers import it by its dotted path (not a lambda, a nested function, a method, "
            "or a function of a script run as __main__)."
        )
    return f"{module}.{qualname}"


def importable_path(func: Callable | str, *, what: str) -> str:
    """Return the dotted path that imports `func` (a function or a path), or raise ValueError naming `what`."""
    if isinstance(func, str):
        path = func
    else:
        try:
            path = module_level_path(func, what=what)
        except ImproperlyConfigured as exc:
            raise ValueError(str(exc)) from None
    try:
        found = import_string(path)
    except ImportError as exc:
        raise ValueError(f"asyncrest: {what} {path!r} cannot be imported: {exc}") from None
    if not callable(found) or (not isinstance(func, str) and found is not func):
        raise ValueError(f"asyncrest: {what} {path!r} does not import as the function given.")
    return path


def register(
    name: str,
    *,
    serializer: type | None = None,
    parsers: Sequence[type | str] | None = None,
    timeout: int | None = None,
    queue: str | None = None,
    max_attempts: int | None = None,
    coalesce: int | None = None,
    many: Callable | None = None,
    coalesce_if: Callable | None = None,
    retry: Retry | None = None,
    tolerate: int | float | None = None,
    retention: int | float | None = None,
    purge: Callable | None = None,
) -> Callable[[Callable], Callable]:
    """Register the decorated function as the job that fulfils orders for resource `name`.

    `serializer` validates the order's input; `parsers` are the DRF parser classes (or
    their dotted paths) of the media types the resource accepts, JSON alone by default.
    A bad name or a function that workers could not import is refused at once.

    `coalesce=N` lets one execution take up to N queued orders of the resource at once,
    claimed together under one lease and finished with a handful of statements; each
    order keeps its own status, attempts and error. `many(orders)`, if given, runs the
    whole batch in one call (one LLM request for many small orders); without it, or when
    it raises, the job runs order by order. `coalesce_if(input)` picks the orders that
    may be coalesced (small ones), the others running alone.

    `retry=Retry(on=(...), max_attempts=5, backoff=2, max_delay=300)` tries an order
    again, after a growing wait, when its job raises one of `on` (or `RetryLater`).

    `tolerate` lets a fanned-out order complete with some items failed (its failed parts'
    items, and those its parts report): up to a count (`tolerate=100`) or a share of its
    items (`tolerate=0.05`); past that, and without it, the order fails.

    `retention` is how many seconds (or a `timedelta`) a finished order is kept before the
    purge deletes it (default `ASYNCREST["RETENTION"]`, 7 days); `purge(order_ids)`, if
    given, is called with each batch of orders about to go, to delete their results.
    """
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ImproperlyConfigured(
            f"asyncrest resource name {name!r} must be 1 to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit: it is a segment of /async/<name>/order/."
        )
    chosen = tuple(parsers) if parsers is not None else DEFAULT_PARSERS
    if not chosen:
        raise ImproperlyConfigured(f"asyncrest resource {name!r}: parsers= may not be empty.")
    if coalesce is not None and (not isinstance(coalesce, int) or isinstance(coalesce, bool) or coalesce < 1):
        raise ImproperlyConfigured(f"asyncrest resource {name!r}: coalesce= must be a whole number of orders, 1 or more.")
    for option, value in (("many", many), ("coalesce_if", coalesce_if)):
        if value is not None and not callable(value):
            raise ImproperlyConfigured(f"asyncrest resource {name!r}: {option}= must be a function.")
        if value is not None and not coalesce:
            raise ImproperlyConfigured(f"asyncrest resource {name!r}: {option}= needs coalesce=N.")

    if retry is not None and not isinstance(retry, Retry):
        raise ImproperlyConfigured(f"asyncrest resource {name!r}: retry= must be an asyncrest.Retry, not {retry!r}.")
    if retry is not None and retry.max_attempts and max_attempts and retry.max_attempts != max_attempts:
        raise ImproperlyConfigured(
            f"asyncrest resource {name!r}: max_attempts={max_attempts} and Retry(max_attempts={retry.max_attempts}) "
            "disagree; give the number once."
        )

    if tolerate is not None and not (
        (isinstance(tolerate, int) and not isinstance(tolerate, bool) and tolerate >= 0)
        or (isinstance(tolerate, float) and 0 < tolerate <= 1)
    ):
        raise ImproperlyConfigured(
            f"asyncrest resource {name!r}: tolerate= is a number of items (0 or more) or a share of them "
            f"(a float above 0, at most 1.0), not {tolerate!r}."
        )

    if hasattr(retention, "total_seconds"):
        retention = retention.total_seconds()
    if retention is not None and (isinstance(retention, bool) or not isinstance(retention, (int, float))
                                  or retention <= 0):
        raise ImproperlyConfigured(
            f"asyncrest resource {name!r}: retention= is a number of seconds above 0 or a timedelta, not {retention!r}."
        )
    if purge is not None and not callable(purge):
        raise ImproperlyConfigured(f"asyncrest resource {name!r}: purge= must be a function.")

    def decorator(func: Callable) -> Callable:
        this = module_level_path(func, what=f"the job of resource {name!r}")
        existing = _registry.get(name)
        if existing is not None:
            if existing.dotted_path == this:
                # The same module imported twice under one name (a reload) is not a clash.
                return func
            raise ImproperlyConfigured(
                f"asyncrest resource {name!r} is registered twice: by {existing.dotted_path} and by {this}."
            )
        _registry[name] = Resource(
            name=name, func=func, serializer=serializer, parsers=chosen, timeout=timeout, queue=queue,
            max_attempts=max_attempts, coalesce=coalesce, many=many, coalesce_if=coalesce_if, retry=retry,
            tolerate=tolerate, retention=retention, purge=purge,
        )
        return func

    return decorator


def get_resource(name: str | None) -> Resource | None:
    """Return the resource registered as `name`, or None."""
    return _registry.get(name) if name else None


def get_resources() -> dict[str, Resource]:
    """Return every registered resource by name."""
    return dict(_registry)


def unregister(name: str) -> None:
    """Forget resource `name` (for tests that register throwaway resources)."""
    _registry.pop(name, None)
