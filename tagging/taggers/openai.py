"""Tag log entries with a language model through the official `openai` SDK.

Any server that speaks OpenAI's chat completions can answer: OpenAI, Azure OpenAI's v1
endpoint, vLLM, Ollama, LiteLLM (`base_url`, else `OPENAI_BASE_URL`). One `tag()` call:

- Packs the entries into requests of at most `max_entries_per_request` entries and
  `max_tokens_per_request` estimated prompt tokens; blank entries need no request.
- Sends them from one event loop (`AsyncOpenAI`), at most `max_concurrency` at a time
  under an asyncio semaphore: no thread per entry or per request.
- Retries a request that failed with 408, 409, 429, 5xx, a timeout, a connection error or
  a reply that is not a chat completion, up to `max_attempts` in all, after exponential
  backoff with jitter. A 429's `Retry-After` (up to `max_retry_after` seconds; longer
  ends that request) pauses every request of the call, since the limit is the account's.
  The SDK's own retries are off (`max_retries=0`) so that all of this is ours to count.
- Asks again, up to `max_reasks` times, for just the entries whose answer did not parse,
  was left out or carried junk tags (see `llm.tags`); an answer that did not parse at all
  is asked again in two halves, in case it was cut off. An entry still without usable
  tags gets a `TaggedEntry.error`; the other entries keep theirs.
- Until the first answer of the call, a request that fails becomes the probe: it retries
  alone while the others wait, so a server that is down gets the first round of requests
  and the probe's retries, not every request's attempts. When something answers, all go;
  when the probe runs out of attempts, the call stops.
- Raises `TaggerError` when no request of the call got an answer: code
  `llm_auth_failed` at the first 401 or 403 (no retries: a wrong key stays wrong), else
  `llm_unavailable`, with a message that names the server and what went wrong.
- Records what it spent in `last_usage`: requests sent (retries included), prompt and
  completion tokens as the server reported them, retries and re-asks.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import ssl
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import openai
from django.core.exceptions import ImproperlyConfigured
from openai.types.chat import ChatCompletion

from .base import BaseTagger, TaggedEntry, TaggerError, Usage
from .llm.backoff import Backoff, retry_after
from .llm.call import Call
from .llm.packing import pack
from .llm.prompt import RESPONSE_FORMAT, build_messages, parse_answer

__all__ = ["OpenAITagger"]

logger = logging.getLogger("tagging.taggers.openai")

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({408, 409, 429})


class Fault(Exception):
    """A request got no usable reply; `retry` says whether trying again may help."""

    def __init__(self, reason: str, *, retry: bool, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.wait = reason, retry, wait


class OpenAITagger(BaseTagger):
    """Tag entries with a language model behind an OpenAI-compatible chat completions API."""

    supports_batching = True

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_concurrency: int = 16,
        max_entries_per_request: int = 20,
        max_tokens_per_request: int = 2000,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        max_reasks: int = 2,
        batch_size: int = 2000,
    ) -> None:
        super().__init__()
        self.model = model
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not self.api_key:
            raise ImproperlyConfigured(
                "OpenAITagger needs an API key: set OPENAI_API_KEY (any value for a local server that checks none)."
            )
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        for name, value, least in [
            ("max_concurrency", max_concurrency, 1), ("max_entries_per_request", max_entries_per_request, 1),
            ("max_tokens_per_request", max_tokens_per_request, 1), ("max_attempts", max_attempts, 1),
            ("max_reasks", max_reasks, 0), ("batch_size", batch_size, 1),
            ("timeout", timeout, 0.001), ("backoff", backoff, 0.0), ("max_backoff", max_backoff, 0.0),
            ("max_retry_after", max_retry_after, 0.0),
        ]:
            kinds = int if isinstance(least, int) else int | float
            if isinstance(value, bool) or not isinstance(value, kinds) or value < least:
                kind = "a whole number" if kinds is int else "a number"
                raise ImproperlyConfigured(f"OpenAITagger option {name} must be {kind} ≥ {least}, not {value!r}.")
        self.timeout = float(timeout)
        self.max_concurrency = max_concurrency
        self.max_entries_per_request = max_entries_per_request
        self.max_tokens_per_request = max_tokens_per_request
        self.max_attempts = max_attempts
        self.backoff = Backoff(base=backoff, cap=max_backoff)
        self.max_retry_after = max_retry_after
        self.max_reasks = max_reasks
        # Many entries per tag() call, so that many requests can be in flight at once.
        self.batch_size = batch_size

    @property
    def server(self) -> str:
        """The base URL without credentials or query, fit to show people."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def tag(self, entries: Sequence[str]) -> list[TaggedEntry]:
        """Return one `TaggedEntry` per entry; raise `TaggerError` if the model could not be reached at all."""
        self.last_usage = Usage()  # a call that fails before it sends anything spent nothing
        started = time.monotonic()
        call = asyncio.run(self._tag(list(entries)))
        self.last_usage = call.usage()
        failed = sum(1 for index, text in enumerate(entries) if text.strip() and index not in call.tags)
        logger.info(
            "tagged %d entries with %s at %s in %.2f s: %d requests (%d retries, %d re-asks, peak %d in flight), "
            "%d prompt + %d completion tokens, %d entries without tags",
            len(entries), self.model, self.server, time.monotonic() - started, call.requests, call.retries,
            call.reasks, call.peak_in_flight, call.prompt_tokens, call.completion_tokens, failed,
        )
        if call.auth_failure:
            raise TaggerError(call.auth_failure, code="llm_auth_failed")
        if call.failure and not call.answered:
            raise TaggerError(call.failure, code="llm_unavailable")
        return [
            TaggedEntry(tags=call.tags.get(index, ()), error=self._error_of(call, index, text))
            for index, text in enumerate(entries)
        ]

    def _error_of(self, call: Call, index: int, text: str) -> str | None:
        if index in call.tags or not text.strip():
            return None
        # An entry without a verdict: its requests stopped when the rest of the call failed.
        return call.errors.get(index, "The language model stopped answering before this entry was tagged.")

    async def _tag(self, texts: list[str]) -> Call:
        # A client per call: its connections belong to the event loop that asyncio.run() made.
        async with openai.AsyncOpenAI(
            api_key=self.api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
        ) as client:
            call = Call(texts, client, self.max_concurrency)
            groups = pack(
                ((index, text) for index, text in enumerate(texts) if text.strip()),
                max_entries=self.max_entries_per_request, max_tokens=self.max_tokens_per_request,
            )
            await asyncio.gather(*(self._settle(call, group, self.max_reasks) for group in groups))
        return call

    async def _settle(self, call: Call, indexes: list[int], reasks_left: int) -> None:
        """Get usable tags for `indexes`, asking again for those without; record why some have none."""
        content = await self._request(call, indexes)
        if content is None:
            return
        answer = parse_answer(content, len(indexes))
        for position, tags in answer.tags.items():
            call.tags[indexes[position]] = tags
        if not answer.problems:
            return
        if not reasks_left:
            answers = f"{self.max_reasks + 1} answer" + ("s" if self.max_reasks else "")
            for position, problem in answer.problems.items():
                call.errors[indexes[position]] = f"The language model gave no usable tags in {answers}: {problem}."
            return
        missing = [indexes[position] for position in sorted(answer.problems)]
        if not answer.tags and len(missing) > 1:
            # Nothing usable at all: maybe the answer was cut off; smaller requests may fit.
            groups = [missing[: len(missing) // 2], missing[len(missing) // 2:]]
        else:
            groups = [missing]
        call.reasks += len(groups)
        await asyncio.gather(*(self._settle(call, group, reasks_left - 1) for group in groups))

    async def _request(self, call: Call, indexes: list[int]) -> str | None:
        """Return the answer's content for `indexes`, retrying faults; None if the request gave up."""
        messages = build_messages([call.texts[index] for index in indexes])
        me = object()
        try:
            for attempt in range(1, self.max_attempts + 1):
                async with call.turn(me):
                    if call.stopped:
                        return None
                    try:
                        return await self._send(call, messages)
                    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                        call.auth_failure = (
                            f"The language model at {self.server} refused the API key (HTTP {exc.status_code}); "
                            "check OPENAI_API_KEY."
                        )
                        call.stop()
                        return None
                    except Fault as exc:
                        fault = exc
                if not fault.retry:
                    message = f"The language model at {self.server} rejected a request ({fault.reason})."
                    return self._give_up(call, indexes, message)
                too_long = fault.wait is not None and fault.wait > self.max_retry_after
                if too_long or attempt == self.max_attempts:
                    reason = f"{fault.reason}, asked to wait {fault.wait:.0f} s" if too_long else fault.reason
                    attempts = f"{attempt} attempt" + ("s" if attempt > 1 else "")
                    return self._give_up(
                        call, indexes,
                        f"The language model at {self.server} did not answer after {attempts} ({reason}).", outage=True,
                    )
                call.retries += 1
                call.fail(me)
                if fault.wait:
                    call.pause(fault.wait)
                delay = self.backoff.delay(attempt, fault.wait)
                logger.info("request for %d entries failed (%s); retry %d of %d in %.2f s",
                            len(indexes), fault.reason, attempt, self.max_attempts - 1, delay)
                await call.sleep(delay)
            return None  # not reached: the last attempt returns or gives up
        finally:
            call.settle(me)

    async def _send(self, call: Call, messages: list[dict[str, str]]) -> str:
        """Send one request; return the answer's content (may be empty) or raise `Fault`."""
        call.requests += 1
        call.in_flight += 1
        call.peak_in_flight = max(call.peak_in_flight, call.in_flight)
        try:
            completion = await call.client.chat.completions.create(
                model=self.model, messages=messages, response_format=RESPONSE_FORMAT,
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            raise
        except openai.APITimeoutError as exc:
            raise Fault(f"no answer within {self.timeout:g} s", retry=True) from exc
        except openai.APIConnectionError as exc:
            raise Fault(describe_connection_error(exc), retry=True) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status == 429:
                raise Fault("rate limited, HTTP 429", retry=True, wait=retry_after(exc.response.headers)) from exc
            retry = status >= 500 or status in RETRY_STATUSES
            # The provider's own words ("model not found"), without the SDK's "Error code: …" prefix.
            said = exc.body.get("message") if isinstance(exc.body, dict) else None
            detail = "" if retry else f": {str(said or exc.message)[:200]}"
            raise Fault(f"HTTP {status}{detail}", retry=retry, wait=retry_after(exc.response.headers)) from exc
        except openai.APIError as exc:  # a reply the SDK could not read: a proxy's page, a cut body
            raise Fault(f"an unreadable reply ({type(exc).__name__})", retry=True) from exc
        finally:
            call.in_flight -= 1
        if not isinstance(completion, ChatCompletion) or not completion.choices:
            raise Fault("a reply that was not a chat completion", retry=True)
        call.answered += 1
        if completion.usage is not None:
            call.prompt_tokens += completion.usage.prompt_tokens or 0
            call.completion_tokens += completion.usage.completion_tokens or 0
        return completion.choices[0].message.content or ""

    def _give_up(self, call: Call, indexes: list[int], message: str, *, outage: bool = False) -> None:
        logger.warning("%s %d entries get no tags.", message, len(indexes))
        call.failure = message
        for index in indexes:
            call.errors[index] = message
        if outage and not call.answered:
            # Nothing has worked so far: the server is down, not one request unlucky.
            call.stop()


def describe_connection_error(exc: BaseException) -> str:
    """Name the cause of a connection error in a few words (refused, reset, unknown host…)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "connection reset"
        if isinstance(cause, ssl.SSLError):
            return "TLS error"
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "host unreachable"
        if type(cause).__name__ == "gaierror":
            return "host name not found"
        cause = cause.__cause__ or cause.__context__
    return "connection failed"
