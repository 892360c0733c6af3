"""The registry of resources: which job runs for `POST /async/<resource>/order/`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

_registry: dict[str, Resource] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A registered job: its name in URLs, input serializer, function and RQ options."""

    name: str
    func: Callable
    serializer: type | None = None
    timeout: int | None = None
    queue: str | None = None
    max_attempts: int | None = None

    @property
    def dotted_path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def get_timeout(self) -> int:
        from . import conf

        return self.timeout or conf.get("DEFAULT_TIMEOUT")

    def get_max_attempts(self) -> int:
        from . import conf

        return self.max_attempts or conf.get("MAX_ATTEMPTS")


def register(
    name: str,
    *,
    serializer: type | None = None,
    timeout: int | None = None,
    queue: str | None = None,
    max_attempts: int | None = None,
) -> Callable[[Callable], Callable]:
    """Register the decorated function as the job that fulfils orders for resource `name`."""

    def decorator(func: Callable) -> Callable:
        existing = _registry.get(name)
        if existing is not None:
            this = f"{func.__module__}.{func.__qualname__}"
            if existing.dotted_path == this:
                # The same module imported twice (e.g. as __main__ and by name) is not a clash.
                return func
            raise ImproperlyConfigured(
                f"asyncrest resource {name!r} is registered twice: by {existing.dotted_path} and by {this}."
            )
        _registry[name] = Resource(
            name=name, func=func, serializer=serializer, timeout=timeout, queue=queue,
            max_attempts=max_attempts,
        )
        return func

    return decorator


def get_resource(name: str) -> Resource | None:
    """Return the resource registered as `name`, or None."""
    return _registry.get(name)


def get_resources() -> dict[str, Resource]:
    """Return every registered resource by name."""
    return dict(_registry)


def unregister(name: str) -> None:
    """Forget resource `name` (for tests that register throwaway resources)."""
    _registry.pop(name, None)
