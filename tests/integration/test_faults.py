"""Faults that really happen: SIGKILL mid-stage, a flaky or dying HTTP server, unwritable outputs.

Each case kills or breaks something for real and checks that nothing is lost or half-written.
The cases are listed in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mixdistill.backends import GenRequest, Sampling
from mixdistill.backends.openai import OpenAIBackend, ServerError
from mixdistill.cache import GenerationCache, cached_generate
from mixdistill.io import write_jsonl

from ..conftest import ROOT, write_params

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _stage(name, *args):
    return [sys.executable, "-m", f"stages.{name}", *map(str, args)]


def _kill_when(proc, ready, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        assert proc.poll() is None, "the stage ended before the kill point"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


@pytest.fixture(scope="module")
def big_mix(tmp_path_factory, tiny_model):
    """An 80-example training set and a 200-problem benchmark, built by the real stages."""
    d = tmp_path_factory.mktemp("big")
    params = write_params(d, **{"problems.train": [{"task": "chain_sum", "count": 80}],
                                "problems.benchmarks": {"chain_sum": {"task": "chain_sum", "count": 200}},
                                "train.sft.per_device_train_batch_size": 4, "train.resume": True, "train.save_steps": 5,
                                "evaluate.max_new_tokens": 48, "evaluate.batch_size": 8})
    subprocess.run(_stage("problems", "--params", params, "--train", d / "train.jsonl", "--benchmarks", d / "bench.jsonl"),
                   check=True, env=ENV, cwd=ROOT)
    for role in ("long", "short"):
        subprocess.run(_stage("teach", "--params", params, "--role", role, "--problems", d / "train.jsonl",
                              "--out", d / f"{role}.jsonl", "--metrics", d / f"{role}.json", "--cache", ""),
                       check=True, env=ENV, cwd=ROOT)
    subprocess.run(_stage("mix", "--params", params, "--recipe", "short", "--hard", d / "long.jsonl", "--easy", d / "short.jsonl",
                          "--out", d / "short-mix.jsonl", "--manifest", d / "m.json"), check=True, env=ENV, cwd=ROOT)
    return d, params


def test_sigkill_train_then_resume_matches_uninterrupted(tmp_path, tiny_model, big_mix):
    d, params = big_mix

    def cmd(out, work):
        return _stage("train", "--params", params, "--base", tiny_model, "--data", d / "short-mix.jsonl", "--out", out,
                      "--metrics", f"{out}.json", "--work", work, "--seed", 0)

    killed, work = tmp_path / "killed", tmp_path / "work"
    proc = subprocess.Popen(cmd(killed, work), env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: any(work.glob("*/checkpoint-10/trainer_state.json")))
    assert not killed.exists(), "a killed train stage left a partial output"
    subprocess.run(cmd(killed, work), check=True, env=ENV, cwd=ROOT, capture_output=True)
    resumed = json.loads(Path(f"{killed}.json").read_text())
    assert resumed["resumed_from_step"] >= 10 and resumed["steps"] == 20
    assert not any(work.iterdir()), "checkpoints are removed once the output is saved"

    fresh = tmp_path / "fresh"
    subprocess.run(cmd(fresh, tmp_path / "work-fresh"), check=True, env=ENV, cwd=ROOT, capture_output=True)
    a, b = load_file(killed / "adapter_model.safetensors"), load_file(fresh / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k


def test_sigkill_evaluate_leaves_nothing_and_rerun_is_identical(tmp_path, tiny_model, big_mix):
    d, params = big_mix

    def cmd(out):
        return _stage("evaluate", "--params", params, "--base", tiny_model, "--model", tiny_model,
                      "--benchmarks", d / "bench.jsonl", "--predictions", out / "pred.jsonl", "--metrics", out / "m.json")

    out = tmp_path / "killed"
    proc = subprocess.Popen(cmd(out), env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    progress = []  # the generation's progress bar, read as it is drawn: the kill lands mid-generation on any machine
    threading.Thread(target=lambda: progress.extend(iter(lambda: proc.stderr.read(64), b"")), daemon=True).start()

    def generating() -> bool:
        done = re.findall(rb"generate \([^)]*\):\s+\d+%\|[^|]*\| (\d+)/200", b"".join(progress))
        return bool(done) and 0 < int(done[-1]) < 200

    _kill_when(proc, generating)
    assert not (out / "pred.jsonl").exists() and not (out / "m.json").exists()
    assert not list(out.glob(".*")) if out.exists() else True  # no temp files either
    subprocess.run(cmd(out), check=True, env=ENV, cwd=ROOT, capture_output=True)
    subprocess.run(cmd(tmp_path / "fresh"), check=True, env=ENV, cwd=ROOT, capture_output=True)
    assert (out / "pred.jsonl").read_bytes() == (tmp_path / "fresh/pred.jsonl").read_bytes()


def test_failed_write_leaves_no_file(tmp_path):
    def records():
        yield {"a": 1}
        raise KeyboardInterrupt  # the process is interrupted in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(tmp_path / "out.jsonl", records())
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_names_the_path(tmp_path, tiny_params):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    p = subprocess.run(_stage("problems", "--params", tiny_params, "--train", blocker / "train.jsonl",
                              "--benchmarks", tmp_path / "b.jsonl"), env=ENV, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 2
    assert f"cannot create output folder {blocker}" in p.stderr and "Traceback" not in p.stderr


def test_full_disk_names_the_path_and_leaves_no_partial_file(tmp_path, tiny_params):
    disk = tmp_path / "small-disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        params = write_params(tmp_path, **{"problems.train": [{"task": "chain_sum", "count": 3000}]})
        p = subprocess.run(_stage("problems", "--params", params, "--train", disk / "train.jsonl",
                                  "--benchmarks", disk / "b.jsonl"), env=ENV, cwd=ROOT, capture_output=True, text=True)
        assert p.returncode == 2, p.stderr[-2000:]
        assert f"cannot write {disk / 'train.jsonl'}: No space left on device" in p.stderr
        assert "Traceback" not in p.stderr
        assert list(disk.iterdir()) == []  # neither the output nor its temp file
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ---------------------------------------------------------------- a flaky OpenAI-compatible server


class Script:
    """What the server does for each incoming request, in order; then 'ok' forever."""

    def __init__(self, steps):
        self.steps, self.lock, self.seen = list(steps), threading.Lock(), []

    def next(self):
        with self.lock:
            return self.steps.pop(0) if self.steps else "ok"


def _server(script: Script):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            step = script.next()
            script.seen.append((step, body["messages"][-1]["content"]))
            if step == "hang":
                time.sleep(3)
                return
            if step in (500, 429, 503, "429-retry-after"):
                self.send_response(429 if step == "429-retry-after" else step)
                if step == "429-retry-after":
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            answer = body["messages"][-1]["content"].split()[-1]
            message = {"role": "assistant", "content": f"\\boxed{{{answer}}}", "reasoning_content": f"thinking {answer}"}
            data = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                               "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                               "usage": {"completion_tokens": 3, "prompt_tokens": 5, "total_tokens": 8}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1"


def _reqs(n):
    return [GenRequest(f"k{i}", ({"role": "user", "content": f"say {i}"},), 0, {}) for i in range(n)]


@pytest.mark.parametrize("faults", [[500, 500], [429, 429, 429], ["hang"], [503, "hang", 500]])
def test_retries_with_backoff_then_succeeds(faults):
    script = Script(faults)
    srv, url = _server(script)
    try:
        backend = OpenAIBackend("m", url, concurrency=1, timeout=1, max_retries=4, backoff=0.05)
        t = time.time()
        out = backend.generate(_reqs(3), Sampling())
        assert [r.text for r in out] == ["\\boxed{0}", "\\boxed{1}", "\\boxed{2}"]
        assert len(script.seen) == 3 + len(faults)
        assert time.time() - t >= 0.05 * (2 ** len(faults) - 1)  # exponential backoff really waited
    finally:
        srv.shutdown()


def test_retry_after_is_honoured_and_reasoning_is_kept():
    script = Script(["429-retry-after"])
    srv, url = _server(script)
    try:
        backend = OpenAIBackend("m", url, concurrency=1, timeout=5, max_retries=2, backoff=0.01)
        t = time.time()
        out = backend.generate(_reqs(1), Sampling())
        assert time.time() - t >= 1.0  # the server's Retry-After: 1, not the 0.01 s backoff
        assert out[0].text == "\\boxed{0}" and out[0].reasoning == "thinking 0" and out[0].tokens == 3
    finally:
        srv.shutdown()


def test_responses_stream_into_the_cache_and_a_dead_server_loses_only_what_was_in_flight(tmp_path):
    script = Script([])
    srv, url = _server(script)
    backend = OpenAIBackend("m", url, concurrency=2, timeout=1, max_retries=2, backoff=0.01)
    cache = GenerationCache(tmp_path, backend.identity())
    original, served = backend.complete, []

    def complete_then_die(req, sampling):  # the server goes away once 5 responses have come back
        out = original(req, sampling)
        served.append(req.key)
        if len(served) == 5:
            srv.shutdown()
            srv.server_close()
        return out

    backend.complete = complete_then_die
    with pytest.raises(ServerError, match=rf"{url}/chat/completions: gave up after 3 attempts; last error: connection"):
        cached_generate(backend, _reqs(12), Sampling(), cache, chunk_size=4)
    kept = GenerationCache(tmp_path, backend.identity())
    # every response that came back is on disk, though no chunk boundary was reached; only in-flight work is lost
    assert 5 <= len(kept.entries) <= 6 and kept.corrupt_lines == 0
    assert all(r.reasoning == "thinking " + r.text[7:-1] for r in kept.entries.values())  # cached beside the answer
    # with the server back, only the missing requests are sent
    script2 = Script([])
    srv2, url2 = _server(script2)
    try:
        backend2 = OpenAIBackend("m", url2, concurrency=2)
        out, counts = cached_generate(backend2, _reqs(12), Sampling(), GenerationCache(tmp_path, backend2.identity()), 4)
        assert counts == {"generated": 12 - len(kept.entries), "cached": len(kept.entries)}
        assert len(script2.seen) == 12 - len(kept.entries)
        assert [r.text for r in out] == [f"\\boxed{{{i}}}" for i in range(12)]
    finally:
        srv2.shutdown()
