"""What a job returns, turned into the order's `resource_url`."""
from __future__ import annotations

from .errors import JobError


def resource_path(result) -> str:
    """Turn a job's return value (a model with get_absolute_url, or a URL) into the resource URL."""
    if hasattr(result, "get_absolute_url"):
        return result.get_absolute_url()
    if isinstance(result, str) and result:
        return result
    raise JobError(f"the job returned {type(result).__name__}, not a resource", code="no_resource")
