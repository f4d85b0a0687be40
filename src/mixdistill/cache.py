"""Content-addressed generation cache, kept outside DVC outputs so no generation is ever lost.

A request's key hashes what decides its output and nothing about transport: the teacher's
identity (model, and for the synthetic teacher its style and error rate), the chat messages,
the sample index and the sampling params (temperature, top_p, max_tokens, seed). The same
model served by vLLM or an OpenAI-compatible server shares entries.

Storage: append-only JSONL, one file per teacher identity. Chunked backends save each chunk when it is done;
streaming backends (vLLM, servers) save each response as it finishes, flushed at once and fsynced at least once a
second. A run killed mid-write leaves at most one partial last line, which is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from pathlib import Path

from .backends.base import GenRequest, GenResult, Sampling

log = logging.getLogger(__name__)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def request_key(identity: dict, req: GenRequest, sampling: Sampling) -> str:
    return _digest({
        "identity": identity,
        "messages": list(req.messages),
        "sample": req.sample,
        "sampling": {"temperature": sampling.temperature, "top_p": sampling.top_p,
                     "max_tokens": sampling.max_tokens, "seed": sampling.seed},
    })


class GenerationCache:
    def __init__(self, folder: str | Path, identity: dict):
        self.identity = identity
        self.path = Path(folder) / f"{_digest(identity)[:24]}.jsonl"
        self.entries: dict[str, GenResult] = {}
        self.corrupt_lines = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with self.path.open() as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                    if rec["key"] == "_identity":  # the file's header: which teacher it belongs to
                        continue
                    self.entries[rec["key"]] = GenResult(rec["text"], rec["finish_reason"], rec.get("tokens"),
                                                         rec.get("reasoning"))
                except (json.JSONDecodeError, KeyError):
                    self.corrupt_lines += 1  # a write cut short by a kill: regenerate that entry
        if self.corrupt_lines:
            log.warning("%s: ignored %d incomplete line(s) left by an interrupted run", self.path, self.corrupt_lines)

    def get(self, key: str) -> GenResult | None:
        return self.entries.get(key)

    @contextlib.contextmanager
    def writer(self, sync_every: float = 1.0):
        """A `put(key, result)` that appends one line and flushes it; fsyncs at most every `sync_every` seconds
        and on exit (also when the caller fails), so a kill loses at most the last second's responses."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new_file = not self.path.exists()
        with self.path.open("a") as fh:
            if new_file:
                fh.write(json.dumps({"key": "_identity", "text": json.dumps(self.identity), "finish_reason": "meta"}) + "\n")
            synced = time.monotonic()

            def put(key: str, res: GenResult) -> None:
                nonlocal synced
                rec = {"key": key, "text": res.text, "finish_reason": res.finish_reason, "tokens": res.tokens}
                if res.reasoning is not None:
                    rec["reasoning"] = res.reasoning
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                self.entries[key] = res
                if time.monotonic() - synced >= sync_every:
                    os.fsync(fh.fileno())
                    synced = time.monotonic()

            try:
                yield put
            finally:
                fh.flush()
                os.fsync(fh.fileno())


def cached_generate(backend, requests: list[GenRequest], sampling: Sampling, cache: GenerationCache | None,
                    chunk_size: int) -> tuple[list[GenResult], dict]:
    """Generate through `cache`: only missing requests reach the backend. Returns (results, counts).

    A backend with `stream` (vLLM, OpenAI-compatible servers) gets every missing request in one call and each
    response is saved as it finishes. Others get chunks cut from the full request list (so a resumed run batches
    exactly as an uninterrupted one), each chunk saved before the next starts.
    """
    from tqdm.auto import tqdm

    if cache is None:
        results = backend.generate(requests, sampling)
        return results, {"generated": len(requests), "cached": 0}
    keys = [request_key(cache.identity, r, sampling) for r in requests]
    n_cached = sum(cache.get(k) is not None for k in keys)
    bar = tqdm(total=len(requests), initial=n_cached, desc="teacher requests", unit="req")
    bar.set_postfix(cached=n_cached, generated=0)
    generated = 0

    def done(n: int) -> None:
        nonlocal generated
        generated += n
        bar.update(n)
        bar.set_postfix(cached=n_cached, generated=generated, refresh=False)

    if n_cached < len(keys):
        with cache.writer() as put:
            if hasattr(backend, "stream"):
                idx = [i for i, k in enumerate(keys) if cache.get(k) is None]
                for j, res in backend.stream([requests[i] for i in idx], sampling):
                    put(keys[idx[j]], res)
                    done(1)
            else:
                for start in range(0, len(requests), chunk_size):
                    idx = [i for i in range(start, min(start + chunk_size, len(requests))) if cache.get(keys[i]) is None]
                    if not idx:
                        continue
                    for i, res in zip(idx, backend.generate([requests[i] for i in idx], sampling)):
                        put(keys[i], res)
                    done(len(idx))
    bar.close()
    return [cache.get(k) for k in keys], {"generated": generated, "cached": n_cached}
