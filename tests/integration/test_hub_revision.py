"""A hub `revision:` reaches the loader, and the commit it resolved reaches provenance: a real Hugging Face hub
cache on disk (refs/main -> commit A; snapshots A and B hold two different tiny models), the hub client offline,
the teach and student stages run as they run under DVC (separate processes, so the hub client reads the cache
location from the environment)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from mixdistill.io import read_json, read_jsonl

from ..conftest import ROOT, write_params

REPO = "mixdistill-test/tiny-teacher"
A, B = "a" * 40, "b" * 40


@pytest.fixture(scope="module")
def hub(tmp_path_factory, tiny_model):
    """A hub cache holding REPO at two commits: A (main) is the tiny model, B the same shape with other weights
    and another chat template."""
    from stages import student

    d = tmp_path_factory.mktemp("hub")
    other = d / "other"
    student.main(["--params", str(write_params(d / "p", seed=1)), "--name", "tiny", "--out", str(other)])
    assert (other / "model.safetensors").is_file()
    # A tiny random model with tied embeddings echoes the prompt's last token; B's chat template ends its generation
    # prompt differently, so what B answers shows that B's files were loaded.
    template = other / "chat_template.jinja"
    template.write_text(template.read_text().replace("'<|im_start|>assistant\n'", "'<|im_start|>assistant\nAnswer:'"))
    repo = d / "cache" / f"models--{REPO.replace('/', '--')}"
    for commit, model in ((A, tiny_model), (B, other)):
        shutil.copytree(model, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(A)
    return {"cache": d / "cache", "other": other}


def _stage(hub, tmp_path, module, *args, **params):
    env = {**os.environ, "HF_HUB_CACHE": str(hub["cache"]), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", f"stages.{module}", "--params", str(write_params(tmp_path, **params)),
                        *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stderr


def _teach(hub, tmp_path, tiny_run, name, model, revision=None):
    teacher = {"backend": "transformers", "model": model, "max_tokens": 8, "batch_size": 16, "filter": "keep_all",
               **({"revision": revision} if revision else {})}
    log = _stage(hub, tmp_path / name, "teach", "--role", "long", "--problems", tiny_run / "train.jsonl",
                 "--out", tmp_path / f"{name}.jsonl", "--metrics", tmp_path / f"{name}.json", "--cache", tmp_path / "cache",
                 **{"teachers.long": teacher})
    return [r["response"] for r in read_jsonl(tmp_path / f"{name}.jsonl")], read_json(tmp_path / f"{name}.json")["provenance"], log


def test_teacher_revision_reaches_the_loader_and_its_commit_the_provenance(hub, tmp_path, tiny_run):
    main, prov_main, log = _teach(hub, tmp_path, tiny_run, "main", REPO)  # no revision: main, resolved through refs/
    assert (prov_main["revision"], prov_main["commit"]) == ("main", A)
    assert f"revision main is not pinned; it is commit {A} now" in log
    pinned, prov_b, log = _teach(hub, tmp_path, tiny_run, "b", REPO, revision=B)
    assert (prov_b["revision"], prov_b["commit"]) == (B, B) and "not pinned" not in log
    local, prov_local, _ = _teach(hub, tmp_path, tiny_run, "local", str(hub["other"]))
    assert pinned == local != main  # commit B's weights were loaded, not main's
    assert "commit" not in prov_local  # a local folder records no hub commit


def test_student_revision_reaches_the_loader_and_its_commit_the_student_info(hub, tmp_path):
    student = {"source": "pretrained", "path": REPO, "revision": B}
    _stage(hub, tmp_path / "s", "student", "--name", "tiny", "--out", tmp_path / "base", "--info", tmp_path / "info.json",
           **{"students": {"tiny": student}})
    info = read_json(tmp_path / "info.json")
    assert (info["revision"], info["commit"]) == (B, B)
    loaded = json.loads((tmp_path / "base" / "config.json").read_text())
    assert loaded == json.loads((hub["other"] / "config.json").read_text())
    assert (tmp_path / "base" / "model.safetensors").read_bytes() == (hub["other"] / "model.safetensors").read_bytes()
