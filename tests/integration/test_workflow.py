"""The CML workflow and its scripts: linted by a real GitHub Actions linter (zizmor, offline), one report comment
edited in place, and a missing DVC remote that fails loudly unless the workflow is told to run without one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github/workflows/cml.yaml"


def test_workflow_passes_zizmor():
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or "zizmor"
    p = subprocess.run([zizmor, "--offline", "--config", str(ROOT / ".github/zizmor.yml"), str(WORKFLOW)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_one_comment_updated_and_no_hidden_failures():
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert sorted(wf["jobs"]) == ["rehearse", "report-cpu", "report-gpu"]
    for name, job in wf["jobs"].items():
        runs = "\n".join(s.get("run", "") for s in job["steps"])
        if name == "rehearse":
            continue
        assert "cml comment update --publish pr-report.md" in runs and "cml comment create" not in runs
        assert "scripts/ci-remote.sh pull" in runs and "scripts/ci-remote.sh push" in runs
    for f in (WORKFLOW, ROOT / "scripts/ci-remote.sh", ROOT / "scripts/pr-report.sh"):
        assert "|| true" not in f.read_text(), f"{f.name} hides a failure"
    assert "dvc plots diff" in (ROOT / "scripts/pr-report.sh").read_text()


def test_gpu_hours_start_only_after_the_twin_of_the_same_params_ran():
    """report-gpu needs the rehearse job, which runs the twin of params.yaml on a CPU runner through a make target
    that exists (make -n) and does not run on every pull request (only when the GPU job does)."""
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert jobs["report-gpu"]["needs"] == "rehearse" and jobs["rehearse"]["if"] == jobs["report-gpu"]["if"]
    assert jobs["rehearse"]["runs-on"] == "ubuntu-latest"
    (cmd,) = [s["run"] for s in jobs["rehearse"]["steps"] if "rehearse" in s.get("run", "")]
    assert cmd == "make rehearse PROFILE=params.yaml"
    plan = subprocess.run(["make", "-n", *cmd.split()[1:]], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "python -m mixdistill.rehearse params.yaml --out" in plan


def _remote(tmp_path, **env):
    repo = tmp_path / "repo"
    if not repo.exists():
        repo.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run([str(Path(sys.executable).parent / "dvc"), "init", "-q"], cwd=repo, check=True)
    full = {k: v for k, v in os.environ.items() if k != "MIXDISTILL_REMOTE"}
    full.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1", **env)
    return subprocess.run(["bash", str(ROOT / "scripts/ci-remote.sh"), "pull"], cwd=repo, env=full,
                          capture_output=True, text=True)


def test_missing_remote_fails_loudly_unless_configured_off(tmp_path):
    p = _remote(tmp_path)
    assert p.returncode == 1 and "no DVC remote is configured" in p.stderr and "MIXDISTILL_REMOTE=none" in p.stderr
    p = _remote(tmp_path, MIXDISTILL_REMOTE="none")
    assert p.returncode == 0 and "running without a DVC remote" in p.stdout
    # a configured remote that cannot be reached fails too, naming the fix
    subprocess.run([str(Path(sys.executable).parent / "dvc"), "remote", "add", "-d", "gone", str(tmp_path / "nowhere" / "x")],
                   cwd=tmp_path / "repo", check=True)
    (tmp_path / "nowhere").write_text("a file where the remote's folder should be")
    (tmp_path / "repo" / "data.txt").write_text("x")
    subprocess.run([str(Path(sys.executable).parent / "dvc"), "add", "-q", "data.txt"], cwd=tmp_path / "repo", check=True)
    p = subprocess.run(["bash", str(ROOT / "scripts/ci-remote.sh"), "push"], cwd=tmp_path / "repo", capture_output=True,
                       text=True, env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert p.returncode == 1 and "dvc push --run-cache failed" in p.stderr


def test_only_params_naming_hub_artefacts_go_online(tmp_path):
    """make runs offline exactly when `python -m mixdistill.config hub` lists nothing: the embedded default."""
    from mixdistill.config import load_config
    from mixdistill.config.__main__ import hub_artefacts

    from ..conftest import committed

    (tmp_path / "params.yaml").write_text(committed("params.yaml"))
    assert hub_artefacts(load_config(tmp_path / "params.yaml", ROOT)) == []
    paper = {key: ref for key, ref, _ in hub_artefacts(load_config(ROOT / "profiles/paper-qwen.yaml", ROOT))}
    assert paper["teachers.long"] == "Qwen/QwQ-32B-Preview" and paper["problems.benchmarks.math500"]
    # the Makefile's choice, with this venv and the prompt file beside each params file
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    shutil.copytree(ROOT / "configs", tmp_path / "configs")

    def offline() -> str:
        p = subprocess.run(["make", "-p", "-n", "-f", str(ROOT / "Makefile"), "repro"], cwd=tmp_path,
                           capture_output=True, text=True)
        return next(line for line in p.stdout.splitlines() if line.startswith("HF_HUB_OFFLINE :="))

    assert offline() == "HF_HUB_OFFLINE := 1"
    shutil.copy(ROOT / "profiles/paper-qwen.yaml", tmp_path / "params.yaml")
    assert offline() == "HF_HUB_OFFLINE := 0"
