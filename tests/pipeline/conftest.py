"""The DVC pipeline tests' shared baseline: the tiny profile's whole graph, run once by `dvc repro` in a temporary git
repository and committed; each test module works on its own copy of it (git, DVC cache and outputs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from ..conftest import copy_plot_templates, copy_project, write_params

from mixdistill.study import RECIPES as _RECIPES, ROLES

RECIPES = list(_RECIPES)
ALL = (
    {"problems", "student@tiny", "analyze@tiny", "gap", "report"}
    | {f"teach@{r}" for r in ROLES}
    | {f"mix@{r}" for r in RECIPES}
    | {f"train@tiny-{r}-0" for r in RECIPES}
    | {f"evaluate@tiny-{r}-0" for r in RECIPES} | {"evaluate_base@tiny"}
)


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # python and dvc of this venv
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", DVC_NO_ANALYTICS="1",
               PYTHONPATH="src",  # the repo's own copy of the code runs (and gets its bytecode), not the install
               AWS_REQUEST_CHECKSUM_CALCULATION="when_required", AWS_RESPONSE_CHECKSUM_VALIDATION="when_required")
    return env


def sh(repo, *cmd) -> str:
    p = subprocess.run(cmd, cwd=repo, env=_env(), capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(cmd)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout + p.stderr


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _changed_stages(repo) -> dict[str, set[str]]:
    """stage -> the deps `dvc status` says changed."""
    p = subprocess.run(["dvc", "status", "--json"], cwd=repo, env=_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    status = json.loads(p.stdout)
    out = {}
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, dict) and "changed deps" in entry:
                out.setdefault(stage.split(":")[-1], set()).update(entry["changed deps"])
    return out


def _build(repo: Path) -> None:
    repo.mkdir(parents=True)
    copy_project(repo)
    write_params(repo, **{"train.sft.learning_rate": 0.05})  # strong enough that a new mix changes the tiny student's outputs
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "dvc", "init", "-q")
    copy_plot_templates(repo)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "project")
    out = sh(repo, "dvc", "repro")
    assert ran(out) == ALL
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "baseline run")
    assert "up to date" in sh(repo, "dvc", "status")


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> Path:
    """The committed baseline run, built once per test session: under pytest-xdist the first worker to ask builds
    it in the folder all workers share, the others wait for it."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    path = shared / "pipeline-baseline"
    with FileLock(f"{path}.lock"):
        if not (path / ".git" / "baseline-done").exists():
            shutil.rmtree(path, ignore_errors=True)  # a half-built one from a failed attempt
            _build(path)
            (path / ".git" / "baseline-done").touch()
    return path


@pytest.fixture(scope="module")
def repo(baseline, tmp_path_factory) -> Path:
    """This module's own copy of the baseline (git history, DVC cache, outputs with their times)."""
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    shutil.copytree(baseline, repo, symlinks=True)
    assert "up to date" in sh(repo, "dvc", "status")
    return repo
