"""Teacher generation for real: an OpenAI-compatible HTTP server (`transformers serve`) on 127.0.0.1,
the generation cache, and a SIGKILL in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mixdistill.backends.openai import OpenAIBackend, ServerError
from mixdistill.io import read_json, read_jsonl
from stages import teach
from stages._common import run

from ..conftest import ROOT, free_port, write_params

SECRET = "sk-test-4f9c1e0b7d2a"


@pytest.fixture(scope="module")
def server(tiny_model):
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "transformers"), "serve", str(tiny_model),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, "transformers serve exited"
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("transformers serve did not come up in 120 s")
    yield f"{url}/v1"
    proc.terminate()
    proc.wait(timeout=30)


def _openai_params(tmp_path, base_url, tiny_model, **extra):
    teacher = {"backend": "openai", "model": str(tiny_model), "max_tokens": 12,
               "options": {"base_url": base_url, "api_key_env": "MIXDISTILL_TEST_KEY", "concurrency": 4,
                           "max_retries": 1, "backoff": 0.05, "timeout": 60, **extra}}
    return write_params(tmp_path, **{"teachers.short": teacher})


def _teach(params, problems, out_dir, cache):
    return run(teach.main, ["--params", str(params), "--role", "short", "--problems", str(problems),
                            "--out", str(out_dir / "short.jsonl"), "--metrics", str(out_dir / "short.json"),
                            "--log", str(out_dir / "short.log.json"), "--cache", str(cache)])


def test_openai_backend_against_a_real_server(tmp_path, server, tiny_model, tiny_run, monkeypatch, capfd, caplog):
    monkeypatch.setenv("MIXDISTILL_TEST_KEY", SECRET)
    caplog.set_level("DEBUG")
    params = _openai_params(tmp_path, server, tiny_model)
    cache = tmp_path / "cache"
    assert _teach(params, tiny_run / "train.jsonl", tmp_path, cache) == 0
    s, log = read_json(tmp_path / "short.json"), read_json(tmp_path / "short.log.json")
    assert s["requests"] == 10 and log == {"generated": 10, "cached": 0}
    assert "generated" not in s and "cached" not in s  # counters are a run log, not a DVC metric
    assert s["provenance"]["backend"] == "openai" and s["provenance"]["api_key_env"] == "MIXDISTILL_TEST_KEY"
    for f in [*tmp_path.rglob("*.json"), *tmp_path.rglob("*.jsonl"), *tmp_path.rglob("*.yaml")]:
        assert SECRET not in f.read_text(), f"the API key leaked into {f}"
    out, err = capfd.readouterr()
    assert SECRET not in out + err + caplog.text, "the API key leaked into the logs"


def test_cached_requests_are_not_sent_again(tmp_path, server, tiny_model, tiny_run, monkeypatch):
    monkeypatch.setenv("MIXDISTILL_TEST_KEY", SECRET)
    cache = tmp_path / "cache"
    assert _teach(_openai_params(tmp_path, server, tiny_model), tiny_run / "train.jsonl", tmp_path, cache) == 0
    first = (tmp_path / "short.jsonl").read_bytes()
    # the same teacher behind a dead address: every request must come from the cache
    dead = _openai_params(tmp_path, f"http://127.0.0.1:{free_port()}/v1", tiny_model)
    assert _teach(dead, tiny_run / "train.jsonl", tmp_path, cache) == 0
    assert read_json(tmp_path / "short.log.json") == {"generated": 0, "cached": 10}
    assert (tmp_path / "short.jsonl").read_bytes() == first


def test_server_down_names_url_and_keeps_what_was_generated(tmp_path, tiny_model, tiny_run, monkeypatch):
    monkeypatch.setenv("MIXDISTILL_TEST_KEY", SECRET)
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(str(tiny_model), url, "MIXDISTILL_TEST_KEY", max_retries=2, backoff=0.01, timeout=2)
    from mixdistill.backends import GenRequest, Sampling

    with pytest.raises(ServerError, match=rf"{url}/chat/completions: gave up after 3 attempts; last error: connection failed"):
        backend.complete(GenRequest("k", ({"role": "user", "content": "hi"},)), Sampling())
    params = _openai_params(tmp_path, url, tiny_model)
    assert _teach(params, tiny_run / "train.jsonl", tmp_path, tmp_path / "cache") == 2
    assert not (tmp_path / "short.jsonl").exists()


def test_missing_api_key_variable_is_named(tmp_path, tiny_model, tiny_run, monkeypatch):
    monkeypatch.delenv("MIXDISTILL_TEST_KEY", raising=False)
    params = _openai_params(tmp_path, "http://127.0.0.1:9/v1", tiny_model)
    with pytest.raises(ValueError, match="environment variable MIXDISTILL_TEST_KEY"):
        teach.main(["--params", str(params), "--role", "short", "--problems", str(tiny_run / "train.jsonl"),
                    "--out", str(tmp_path / "o.jsonl"), "--metrics", str(tmp_path / "o.json"), "--cache", ""])


def test_sigkill_mid_generation_then_resume_is_identical(tmp_path, tiny_model):
    teacher = {"backend": "transformers", "model": str(tiny_model), "max_tokens": 48, "batch_size": 4}
    params = write_params(tmp_path, **{"teachers.long": teacher,
                                       "problems.train": [{"task": "chain_sum", "count": 160}]})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    py = [sys.executable, "-m"]
    subprocess.run([*py, "stages.problems", "--params", str(params), "--train", str(tmp_path / "train.jsonl"),
                    "--benchmarks", str(tmp_path / "bench.jsonl")], check=True, env=env, cwd=ROOT)

    def cmd(out, cache):
        return [*py, "stages.teach", "--params", str(params), "--role", "long", "--problems", str(tmp_path / "train.jsonl"),
                "--out", str(out / "long.jsonl"), "--metrics", str(out / "long.json"), "--log", str(out / "long.log.json"),
                "--cache", str(cache)]

    killed, cache = tmp_path / "killed", tmp_path / "cache-killed"
    proc = subprocess.Popen(cmd(killed, cache), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        files = list(cache.glob("*.jsonl"))
        if files and files[0].read_text().count("\n") >= 1 + 16:  # identity line + one saved chunk
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (killed / "long.jsonl").exists()  # no partial output where DVC would hash it
    saved = files[0].read_text().count("\n") - 1

    subprocess.run(cmd(killed, cache), check=True, env=env, cwd=ROOT, capture_output=True)
    s = read_json(killed / "long.log.json")
    assert s["cached"] == saved and s["generated"] == 160 - saved and s["cached"] >= 16

    fresh = tmp_path / "fresh"
    subprocess.run(cmd(fresh, tmp_path / "cache-fresh"), check=True, env=env, cwd=ROOT, capture_output=True)
    assert (killed / "long.jsonl").read_bytes() == (fresh / "long.jsonl").read_bytes()
    assert len(read_jsonl(fresh / "long.jsonl")) == read_json(fresh / "long.json")["kept_responses"]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_dataset_teacher_imports_published_responses(tmp_path, tiny_run, fmt):
    import pandas as pd

    problems = read_jsonl(tiny_run / "train.jsonl")
    rows = [{"problem": "  " + p["question"] + " ", "solution": f"Easy. Final Answer: \\boxed{{{p['answer']}}}"}
            for p in problems[:7]]
    rows.append({"problem": problems[7]["question"], "solution": "Final Answer: \\boxed{nonsense}"})
    path = tmp_path / f"released.{fmt}"
    pd.DataFrame(rows).to_json(path, orient="records", lines=True) if fmt == "jsonl" else pd.DataFrame(rows).to_parquet(path)
    params = write_params(tmp_path, **{"teachers.long": {"backend": "dataset", "model": str(path),
                                                         "options": {"question_column": "problem", "response_column": "solution"}}})
    teach.main(["--params", str(params), "--role", "long", "--problems", str(tiny_run / "train.jsonl"),
                "--out", str(tmp_path / "long.jsonl"), "--metrics", str(tmp_path / "long.json"), "--cache", ""])
    s = read_json(tmp_path / "long.json")
    assert (s["requests"], s["correct"], s["kept_problems"]) == (10, 7, 7)
    assert s["reasons"] == {"correct": 7, "mismatch": 1, "no_answer": 2}
    bad = write_params(tmp_path / "bad", **{"teachers.long": {"backend": "dataset", "model": str(path)}})
    with pytest.raises(ValueError, match="has no column\\(s\\) \\['question', 'response'\\]; its columns: problem, solution"):
        teach.main(["--params", str(bad), "--role", "long", "--problems", str(tiny_run / "train.jsonl"),
                    "--out", str(tmp_path / "x.jsonl"), "--metrics", str(tmp_path / "x.json"), "--cache", ""])


def test_adding_problems_generates_only_the_new_requests(tmp_path, tiny_model):
    from mixdistill.config import GymSource, TransformersTeacher, paper_prompt
    from mixdistill.problems import build_train
    from mixdistill.teachers import teach as run_teacher

    cfg = TransformersTeacher(backend="transformers", model=str(tiny_model), max_tokens=8, batch_size=4)
    cache = tmp_path / "cache"

    def problems(n):
        return build_train([GymSource(task="chain_sum", count=n)], seed=0)

    _, first = run_teacher("long", cfg, problems(20), paper_prompt(), 0, cache_dir=str(cache))
    assert (first["run"]["generated"], first["run"]["cached"]) == (20, 0)
    _, more = run_teacher("long", cfg, problems(22), paper_prompt(), 0, cache_dir=str(cache))
    assert (more["run"]["generated"], more["run"]["cached"]) == (2, 20)  # 10% more problems: only those are generated
    raised = TransformersTeacher(backend="transformers", model=str(tiny_model), max_tokens=8, batch_size=4,
                           samples_per_problem=2, temperature=0.0)
    _, two = run_teacher("long", raised, problems(22), paper_prompt(), 0, cache_dir=str(cache))
    assert (two["run"]["generated"], two["run"]["cached"]) == (22, 22)  # a second sample per problem: only the new samples
