"""Any OpenAI-compatible chat server: vLLM serve, SGLang, TGI, llama.cpp server, transformers serve, hosted APIs,
through the official `openai` SDK.

Options (teachers.ROLE.options, typed in config.OpenAIOptions):
    base_url     e.g. http://127.0.0.1:8000/v1 (required)
    api_key_env  name of the environment variable holding the key; the key itself is never
                 written to params, outputs, logs or provenance
    concurrency  requests in flight at once (default 4); the whole workload is queued, each response is handed
                 back (and cached) as it finishes
    timeout      seconds per request (default 600: long CoT from a reasoning model takes minutes)
    max_retries  retries on 408/409/429/5xx, timeouts and refused connections (default 5)
    backoff      first retry delay in seconds, doubled each time, plus up to 25% jitter (default 1.0); a
                 Retry-After header from the server (seconds or a date, at most 10 minutes) is waited out
                 when it asks for longer
A reasoning model's `reasoning_content` (vLLM, SGLang, DeepSeek) is kept beside the answer.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from email.utils import parsedate_to_datetime
from typing import Iterator

from ..errors import ServerError
from .base import GenRequest, GenResult, Sampling, collect

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """A URL fit for logs, errors and provenance: user and password, if it holds any, replaced by ***.

    >>> redact("http://me:s3cret@10.0.0.5:8000/v1"), redact("http://127.0.0.1:8000/v1")
    ('http://***@10.0.0.5:8000/v1', 'http://127.0.0.1:8000/v1')
    """
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1***@", url, flags=re.IGNORECASE)
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 600.0


def retry_after(headers) -> float | None:
    """Seconds a server asks the client to wait (Retry-After-Ms, or Retry-After in seconds or as an HTTP date).

    >>> retry_after({"retry-after": "3"}), retry_after({"retry-after-ms": "250"}), retry_after({})
    (3.0, 0.25, None)
    >>> retry_after({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"})
    0.0
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


class OpenAIBackend:
    def __init__(self, model: str, base_url: str, api_key_env: str | None = None, concurrency: int = 4,
                 timeout: float = 600.0, max_retries: int = 5, backoff: float = 1.0):
        if not base_url:
            raise ValueError("the openai backend needs options.base_url, e.g. http://127.0.0.1:8000/v1")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key_env = api_key_env
        if api_key_env and not os.environ.get(api_key_env):
            raise ValueError(f"environment variable {api_key_env} (named by options.api_key_env) is not set")
        self.concurrency, self.timeout = int(concurrency), float(timeout)
        self.max_retries, self.backoff = int(max_retries), float(backoff)
        self._client = None

    @classmethod
    def from_teacher(cls, cfg) -> "OpenAIBackend":
        return cls(cfg.model, **cfg.options.model_dump())

    def identity(self) -> dict:
        return {"model": self.model}

    def describe(self) -> dict:
        # the key's variable name may be recorded; its value never is
        return {"backend": "openai", "model": self.model, "base_url": redact(self.base_url), "api_key_env": self.api_key_env}

    def client(self):
        """One SDK client (its connection pool is shared by the worker threads); retries are ours, not the SDK's."""
        if self._client is None:
            from openai import OpenAI

            key = os.environ[self.api_key_env] if self.api_key_env else "EMPTY"  # local servers take any key
            self._client = OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)
        return self._client

    def complete(self, req: GenRequest, sampling: Sampling) -> GenResult:
        import openai

        body = {"model": self.model, "messages": list(req.messages), "max_tokens": sampling.max_tokens,
                "temperature": sampling.temperature, "n": 1, "seed": sampling.request_seed(req.key)}
        if sampling.temperature > 0:
            body["top_p"] = sampling.top_p
        url = f"{redact(self.base_url)}/chat/completions"  # for messages: a password in the URL is never shown
        last, delay = "no attempt", 0.0
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(delay)
            delay = self.backoff * 2 ** attempt * (1 + random.random() / 4)
            try:
                resp = self.client().chat.completions.create(**body)
                choice = resp.choices[0]
                msg = choice.message
                reasoning = getattr(msg, "reasoning_content", None) or (msg.model_extra or {}).get("reasoning")
                tokens = resp.usage.completion_tokens if resp.usage else None
                reason = "length" if choice.finish_reason == "length" else "stop"
                return GenResult(msg.content or "", reason, tokens, reasoning)
            except openai.APIStatusError as exc:
                last = f"HTTP {exc.status_code}"
                if exc.status_code not in RETRY_STATUS:
                    raise ServerError(f"{url}: {last}: {str(exc.message)[:300]}") from None
                asked = retry_after(exc.response.headers)
                if asked is not None:
                    delay = max(delay, min(asked, MAX_RETRY_AFTER))
            except openai.APITimeoutError:
                last = f"timed out after {self.timeout:g} s (options.timeout)"
            except openai.APIConnectionError as exc:
                last = f"connection failed ({exc.__cause__ or exc})"
            except (AttributeError, IndexError, TypeError) as exc:
                last = f"malformed response ({exc!r})"
            log.warning("%s: attempt %d failed (%s)", url, attempt + 1, last)
        raise ServerError(f"{url}: gave up after {self.max_retries + 1} attempts; last error: {last}")

    def stream(self, requests: list[GenRequest], sampling: Sampling) -> Iterator[tuple[int, GenResult]]:
        """At most `concurrency` requests in flight; yields (index, result) as each finishes. On a failure the
        requests not yet sent are cancelled and the error raised (what finished before is already yielded)."""
        with ThreadPoolExecutor(self.concurrency) as pool:
            pending = {pool.submit(self.complete, r, sampling): i for i, r in enumerate(requests)}
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        i = pending.pop(f)
                        yield i, f.result()
            finally:
                for f in pending:
                    f.cancel()

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]:
        return collect(self.stream(requests, sampling), len(requests), f"openai {self.model}")
