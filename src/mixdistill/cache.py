"""Content-addressed generation cache, kept outside DVC outputs so no generation is ever lost.

A request's key hashes what decides its output and nothing about transport: the teacher's
identity (model, and for the synthetic teacher its style and error rate), the chat messages,
the sample index and the sampling params (temperature, top_p, max_tokens, seed). The same
model served by vLLM or an OpenAI-compatible server shares entries.

Storage: append-only JSONL, one file per teacher identity. Chunked backends save each chunk when it is done;
streaming backends (vLLM, servers) save each response as it finishes, flushed at once and fsynced at least once a
second. A run killed mid-write (or a full disk) leaves at most one partial last line, possibly cut inside a
multi-byte character. Reading never trusts a line: one that does not decode as UTF-8, parse as JSON or hold an
entry is skipped, counted and named once (file and line numbers), and the file is compacted at once to its valid
entries, so every cached response is reused, the next append starts on a line of its own and the warning does not
repeat. `python -m mixdistill.cache repair FILE...` does the same by hand.
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
from .io import atomic_path

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
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise OSError(exc.errno, f"cannot read generation cache {self.path}: {exc.strerror}") from None
        bad = []
        for lineno, raw in enumerate(data.split(b"\n"), 1):
            if not raw.strip():
                continue
            rec = _entry(raw)
            if rec is None:
                bad.append(lineno)
            elif rec["key"] != "_identity":  # the file's header: which teacher it belongs to
                self.entries[rec["key"]] = GenResult(rec["text"], rec["finish_reason"], rec.get("tokens"),
                                                     rec.get("reasoning"))
        self.corrupt_lines = len(bad)
        if bad or (data and not data.endswith(b"\n")):
            if bad:
                log.warning("%s: skipped %d line(s) that hold no cache entry (line %s): cut by an interrupted write "
                            "or not written by mixdistill; their requests are generated again, and the file is "
                            "compacted to its %d valid entries", self.path, len(bad),
                            ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else ""), len(self.entries))
            self.compact()

    def _header(self) -> str:
        """The file's first line: which teacher identity its entries belong to."""
        return _line({"key": "_identity", "text": json.dumps(self.identity), "finish_reason": "meta"})

    def compact(self) -> None:
        """Rewrite the file (atomically) with the header and every valid entry, one per line."""
        with atomic_path(self.path) as tmp, tmp.open("w") as fh:
            fh.write(self._header())
            for key, res in self.entries.items():
                fh.write(_line(_record(key, res)))

    def get(self, key: str) -> GenResult | None:
        return self.entries.get(key)

    @contextlib.contextmanager
    def writer(self, sync_every: float = 1.0):
        """A `put(key, result)` that appends one line and flushes it; fsyncs at most every `sync_every` seconds
        and on exit (also when the caller fails), so a kill loses at most the last second's responses. An I/O error
        (a full disk) names the cache file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new_file = not self.path.exists()
            fh = self.path.open("a")
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write generation cache {self.path}: {exc.strerror}") from None
        with fh:
            synced = time.monotonic()

            def put(key: str, res: GenResult) -> None:
                nonlocal synced
                fh.write(_line(_record(key, res)))
                fh.flush()
                self.entries[key] = res
                if time.monotonic() - synced >= sync_every:
                    os.fsync(fh.fileno())
                    synced = time.monotonic()

            try:
                if new_file:
                    fh.write(self._header())
                yield put
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                raise OSError(exc.errno, f"cannot write generation cache {self.path}: {exc.strerror}") from None
            finally:
                with contextlib.suppress(OSError):  # a full disk: what was written is kept, the error above says where
                    fh.flush()
                    os.fsync(fh.fileno())


def _record(key: str, res: GenResult) -> dict:
    rec = {"key": key, "text": res.text, "finish_reason": res.finish_reason, "tokens": res.tokens}
    if res.reasoning is not None:
        rec["reasoning"] = res.reasoning
    return rec


def _line(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False) + "\n"


def _entry(raw: bytes) -> dict | None:
    """A cache line's entry, or None for a line that does not decode, parse, or hold one."""
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    ok = (isinstance(rec, dict) and isinstance(rec.get("key"), str) and isinstance(rec.get("text"), str)
          and isinstance(rec.get("finish_reason"), str) and isinstance(rec.get("tokens"), (int, type(None)))
          and isinstance(rec.get("reasoning"), (str, type(None))))
    return rec if ok else None


def repair(path: str | Path) -> tuple[int, int]:
    """(valid entries kept, lines dropped) for one cache file, rewritten with its valid entries only."""
    path = Path(path)
    header = _entry(path.read_bytes().split(b"\n", 1)[0])
    identity = json.loads(header["text"]) if header and header["key"] == "_identity" else {}
    cache = GenerationCache.__new__(GenerationCache)
    cache.identity, cache.path, cache.entries = identity, path, {}
    cache._load()
    cache.compact()
    return len(cache.entries), cache.corrupt_lines


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


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m mixdistill.cache", description="Generation cache tools.")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("repair", help="rewrite cache files with every valid entry, dropping torn or foreign lines")
    r.add_argument("files", nargs="+")
    args = p.parse_args(argv)
    failed = 0
    for f in args.files:
        try:
            kept, dropped = repair(f)
        except OSError as e:  # the others are still repaired
            log.error("%s: cannot repair: %s", f, e.strerror)
            failed += 1
            continue
        log.info("%s: kept %d entries, dropped %d line(s)", f, kept, dropped)
    return 2 if failed else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
