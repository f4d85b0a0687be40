"""Teacher generation speed on this machine: python scripts/bench_teachers.py MODEL_DIR [MODEL_DIR ...]

For each model folder (e.g. models/smollm2_135m/base and a tiny random model):
  - transformers backend, tokens/s at batch sizes 1, 8, 32 (greedy, fixed new-token budget);
  - openai backend against `transformers serve` on 127.0.0.1 at concurrency 1, 4, 16;
  - the generation cache: a first run over N problems, then a rerun after adding 10% more
    problems, which must generate only the new requests (time ratio printed).
Prints a markdown table. Runs on CPU; sizes are small on purpose (see --problems, --tokens).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mixdistill.backends.base import GenRequest, Sampling
from mixdistill.backends.hf import TransformersBackend
from mixdistill.backends.openai import OpenAIBackend
from mixdistill.cache import GenerationCache, cached_generate
from mixdistill.config import GymSource, paper_prompt
from mixdistill.problems import build_train
from mixdistill.prompts import build_messages


def _requests(n: int) -> list[GenRequest]:
    probs = build_train([GymSource(task="chain_sum", count=n)], seed=0)
    return [GenRequest(p["problem_id"], build_messages(p["question"], paper_prompt()), 0, p) for p in probs]


def _tok_s(backend, reqs, sampling) -> tuple[float, float]:
    t = time.time()
    out = backend.generate(reqs, sampling)
    dt = time.time() - t
    return sum(r.tokens or 0 for r in out) / dt, dt


def _serve(model: str):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "transformers"), "serve", model, "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("transformers serve did not start")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--problems", type=int, default=32)
    p.add_argument("--tokens", type=int, default=64, help="new tokens per request (min and max)")
    args = p.parse_args(argv)
    sampling = Sampling(0.0, 1.0, args.tokens, 0)
    rows = []
    for model in args.models:
        name = Path(model).parent.name + "/" + Path(model).name
        reqs = _requests(args.problems)
        for bs in (1, 8, 32):
            backend = TransformersBackend(model, batch_size=bs)
            sub = reqs[: max(bs, 8)] if bs == 1 else reqs
            tps, dt = _tok_s(backend, sub, sampling)
            rows.append((name, f"transformers batch {bs}", len(sub), f"{tps:.0f}", f"{dt:.1f}"))
        proc, url = _serve(model)
        try:
            for conc in (1, 4, 16):
                backend = OpenAIBackend(model, url, concurrency=conc)
                tps, dt = _tok_s(backend, reqs[:16], sampling)
                rows.append((name, f"openai concurrency {conc}", 16, f"{tps:.0f}", f"{dt:.1f}"))
        finally:
            proc.terminate()
        with tempfile.TemporaryDirectory() as tmp:
            backend = TransformersBackend(model, batch_size=8)
            cache = GenerationCache(tmp, backend.identity())
            base = _requests(args.problems)
            t = time.time()
            cached_generate(backend, base, sampling, cache, 32)
            first = time.time() - t
            more = _requests(args.problems + max(args.problems // 10, 1))
            t = time.time()
            _, counts = cached_generate(backend, more, sampling, cache, 32)
            again = time.time() - t
            rows.append((name, f"rerun +10% problems ({counts['generated']} new, {counts['cached']} cached)",
                         len(more), "-", f"{again:.1f} = {100 * again / first:.0f}% of first run ({first:.1f} s)"))
    print("\n| model | backend | requests | tokens/s | seconds |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(map(str, r)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
