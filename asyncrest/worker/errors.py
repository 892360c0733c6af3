"""Errors a job can raise, and `fail_on_error`, which records them on the order."""
from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from rq.timeouts import JobTimeoutException



class JobError(Exception):
    """A failure whose message is fit for the client; `code` is the order's `error.code`."""

    code = "job_failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class OrderCancelled(Exception):
    """The order stopped being `running` (cancelled or finished elsewhere); stop the job now."""


@contextmanager
def fail_on_error(order, message: str, *, code: str = "job_failed") -> Iterator[None]:
    """Mark `order` failed with `code` and `message` if the block raises, then re-raise.

    A `JobError` keeps its own code, and its text is appended to `message`; any other
    exception is reported with `message` alone, since its text may expose internals.
    The traceback goes to the log and to the order's admin page, never to the API.
    """
    try:
        yield
    except OrderCancelled:
        raise
    except Exception as exc:
        from .. import lifecycle

        if isinstance(exc, JobError):
            error_code, text = exc.code, f"{message}: {exc}" if message else str(exc)
        elif isinstance(exc, JobTimeoutException):
            error_code, text = "timeout", f"{message}: the job ran past its time limit"
        else:
            error_code, text = code, message
        detail = traceback.format_exc()
        # Only the execution holding the order may fail it (None outside the runner: anyone).
        lease = getattr(order, "lease", "") or None
        if lifecycle.fail(order.pk, error_code, text, detail, lease=lease):
            # The traceback goes to the log (and the admin), as the API never shows it.
            lifecycle.log_transition(order, "failed", level=logging.ERROR, detail=f"code={error_code}: {text}", exc_info=True)
        raise
