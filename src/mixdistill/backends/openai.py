"""Any OpenAI-compatible chat server: vLLM serve, SGLang, TGI, llama.cpp server, transformers serve, hosted APIs.

Options (teachers.ROLE.options, typed in config.OpenAIOptions):
    base_url     e.g. http://127.0.0.1:8000/v1 (required)
    api_key_env  name of the environment variable holding the key; the key itself is never
                 written to params, outputs, logs or provenance
    concurrency  requests in flight at once (default 4)
    timeout      seconds per request (default 120)
    max_retries  retries on 429, 5xx, timeouts and refused connections (default 5)
    backoff      first retry delay in seconds, doubled each time (default 1.0)
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ..errors import ServerError
from .base import GenRequest, GenResult, Sampling

log = logging.getLogger(__name__)
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str, api_key_env: str | None = None, concurrency: int = 4,
                 timeout: float = 120.0, max_retries: int = 5, backoff: float = 1.0):
        if not base_url:
            raise ValueError("the openai backend needs options.base_url, e.g. http://127.0.0.1:8000/v1")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key_env = api_key_env
        if api_key_env and not os.environ.get(api_key_env):
            raise ValueError(f"environment variable {api_key_env} (named by options.api_key_env) is not set")
        self.concurrency, self.timeout = int(concurrency), float(timeout)
        self.max_retries, self.backoff = int(max_retries), float(backoff)

    @classmethod
    def from_teacher(cls, cfg) -> "OpenAIBackend":
        return cls(cfg.model, **cfg.options.model_dump())

    def identity(self) -> dict:
        return {"model": self.model}

    def describe(self) -> dict:
        # the key's variable name may be recorded; its value never is
        return {"backend": "openai", "model": self.model, "base_url": self.base_url, "api_key_env": self.api_key_env}

    def _headers(self) -> dict:
        h = {"Content-Type": "application/json"}
        if self.api_key_env:
            h["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        return h

    def complete(self, req: GenRequest, sampling: Sampling) -> GenResult:
        body = {"model": self.model, "messages": list(req.messages), "max_tokens": sampling.max_tokens,
                "temperature": sampling.temperature, "n": 1, "seed": sampling.seed + req.sample}
        if sampling.temperature > 0:
            body["top_p"] = sampling.top_p
        url = f"{self.base_url}/chat/completions"
        data = json.dumps(body).encode()
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                request = urllib.request.Request(url, data=data, headers=self._headers(), method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    payload = json.loads(resp.read())
                choice = payload["choices"][0]
                tokens = (payload.get("usage") or {}).get("completion_tokens")
                reason = "length" if choice.get("finish_reason") == "length" else "stop"
                return GenResult(choice["message"]["content"] or "", reason, tokens)
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} {exc.reason}"
                if exc.code not in RETRY_STATUS:
                    raise ServerError(f"{url}: {last}: {exc.read()[:300]!r}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except (KeyError, IndexError, json.JSONDecodeError) as exc:
                last = f"malformed response ({exc!r})"
            log.warning("%s: attempt %d failed (%s)", url, attempt + 1, last)
        raise ServerError(f"{url}: gave up after {self.max_retries + 1} attempts; last error: {last}")

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]:
        from tqdm.auto import tqdm

        with ThreadPoolExecutor(self.concurrency) as pool, tqdm(total=len(requests), desc=f"openai {self.model}") as bar:
            futures = [pool.submit(self.complete, r, sampling) for r in requests]
            results = []
            for f in futures:
                results.append(f.result())
                bar.update(1)
        return results
