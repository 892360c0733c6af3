"""The exceptions of jobs, and what the client is told of a failure (a leaf module: nothing of asyncrest)."""
from __future__ import annotations

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


class RetryLater(JobError):
    """Raise from a job to have its order tried again: after `after` seconds (a number or a
    `timedelta`), or, without it, after the wait its resource's retry policy gives.

    It counts as an attempt. Once the resource's attempts are used up the order fails with
    this error's `code` and message, as for any `JobError`.
    """

    def __init__(self, message: str = "The job asked to be tried again later", *, after=None,
                 code: str | None = None) -> None:
        super().__init__(message, code=code)
        if hasattr(after, "total_seconds"):
            after = after.total_seconds()
        if after is not None and (isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0):
            raise ValueError(f"RetryLater(after=...) must be a number of seconds or a timedelta, not {after!r}")
        self.after = after


class RetryScheduled(Exception):
    """The order was handed back with its next attempt scheduled: the job's execution ends here.

    Not for jobs to raise or catch: `fail_on_error` raises it, chained to the failure, and
    every enclosing `fail_on_error` and the runner let it through.
    """


def describe_failure(exc: BaseException, message: str, code: str) -> tuple[str, str]:
    """The error code and the client's message for `exc`: a JobError's own, else `code` and `message` alone."""
    if isinstance(exc, JobError):
        return exc.code, f"{message}: {exc}" if message else str(exc)
    if isinstance(exc, JobTimeoutException):
        return "timeout", f"{message}: the job ran past its time limit"
    return code, message
