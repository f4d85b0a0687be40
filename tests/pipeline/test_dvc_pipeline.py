"""The DVC graph itself: a real `dvc repro`, then `dvc exp run -S ...` reruns only what the change touches."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import copy_project, write_params

RECIPES = ["long", "short", "large", "small", "mix_long", "mix_large"]
ALL = (
    {"problems", "student@tiny", "analyze@tiny", "gap", "report"}
    | {f"teach@{r}" for r in ("long", "short", "large", "small")}
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


def _sh(repo, *cmd) -> str:
    p = subprocess.run(cmd, cwd=repo, env=_env(), capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(cmd)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout + p.stderr


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("pipeline")
    copy_project(repo)
    write_params(repo, **{"train.sft.learning_rate": 0.05})  # strong enough that a new mix changes the tiny student's outputs
    _sh(repo, "git", "init", "-q", "-b", "main")
    _sh(repo, "dvc", "init", "-q")
    _sh(repo, "git", "add", "-A")
    _sh(repo, "git", "commit", "-qm", "project")
    out = _sh(repo, "dvc", "repro")
    assert _ran(out) == ALL
    _sh(repo, "git", "add", "-A")
    _sh(repo, "git", "commit", "-qm", "baseline run")
    assert "up to date" in _sh(repo, "dvc", "status")
    return repo


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


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_lock_ignores_bytecode_editor_files_and_a_test_run(repo):
    """What a whole test suite leaves behind (bytecode of every module), plus an editor's swap file, changes nothing."""
    _sh(repo, sys.executable, "-m", "compileall", "-q", "src", "stages")
    mods = [f"mixdistill.{f.stem}" for f in (repo / "src" / "mixdistill").glob("*.py") if f.stem != "__init__"]
    _sh(repo, sys.executable, "-c", f"import {', '.join(mods)}, mixdistill.backends.registry, stages.report")
    assert list((repo / "src" / "mixdistill").glob("__pycache__/teachers.*.pyc")), "bytecode was not written in the repo"
    (repo / "src" / "mixdistill" / "backends" / ".hf.py.swp").write_bytes(b"vim swap")
    assert _changed_stages(repo) == {}
    assert "up to date" in _sh(repo, "dvc", "status")


@pytest.mark.parametrize("path", ["src/mixdistill/prompts.py", "configs/prompts/paper.txt"])
def test_editing_the_prompt_reruns_every_stage_that_uses_it(repo, path):
    """The prompt builder (prompts.py) and the prompt's text (the file params name) are used by teachers,
    training, evaluation and analysis, and by nothing else."""
    f = repo / path
    f.write_text(f.read_text() + "\n# an edit\n")
    try:
        changed = _changed_stages(repo)
    finally:
        _sh(repo, "git", "checkout", "--", path)
    runs_it = ({f"teach@{r}" for r in ("long", "short", "large", "small")} | {"analyze@tiny"}
               | {f"train@tiny-{r}-0" for r in RECIPES} | {f"evaluate@tiny-{r}-0" for r in RECIPES} | {"evaluate_base@tiny"})
    assert set(changed) == runs_it
    assert all(deps == {path} for deps in changed.values())
    assert "up to date" in _sh(repo, "dvc", "status")


def test_mix_weight_reruns_exactly_the_mix_long_chain(repo):
    """After the bytecode test above: exactly mix, train and evaluate of mix_long and the report; analyze and gap
    exactly when the new predictions (or eval metrics) differ (DVC skips a stage whose deps hash the same)."""
    preds, evals = repo / "data/predictions/tiny-mix_long-0.jsonl", repo / "metrics/eval/tiny-mix_long-0.json"
    before = _md5(preds), _md5(evals)
    ran = _ran(_sh(repo, "dvc", "exp", "run", "-S", "mix.weight=1.0"))
    expect = {"mix@mix_long", "train@tiny-mix_long-0", "evaluate@tiny-mix_long-0", "report"}
    expect |= {"analyze@tiny"} if _md5(preds) != before[0] else set()
    expect |= {"gap"} if (_md5(preds), _md5(evals)) != before else set()
    assert ran == expect
    assert "analyze@tiny" in ran, "the tiny profile should let a weight change reach the predictions"
    shown = _sh(repo, "dvc", "exp", "show", "--md")
    assert "mix.weight" in shown


def test_one_teacher_change_reruns_only_its_descendants(repo):
    ran = _ran(_sh(repo, "dvc", "exp", "run", "-S", "teachers.small.error_rate=0.5"))
    assert "teach@small" in ran
    untouched = {"problems", "student@tiny", "teach@long", "teach@short", "teach@large",
                 "mix@long", "mix@short", "mix@mix_long", "train@tiny-long-0", "train@tiny-short-0",
                 "train@tiny-mix_long-0", "evaluate_base@tiny", "evaluate@tiny-long-0"}
    assert not ran & untouched, ran & untouched
    assert ran <= {"teach@small", "mix@large", "mix@small", "mix@mix_large", "train@tiny-large-0", "train@tiny-small-0",
                   "train@tiny-mix_large-0", "evaluate@tiny-large-0", "evaluate@tiny-small-0", "evaluate@tiny-mix_large-0",
                   "analyze@tiny", "gap", "report"}


OUTCOMES = {f"tiny.p_{r}" for r in ("base", *RECIPES)} | {
    f"tiny.{k}{suffix}" for k in ("delta_long", "delta_large", "mix_long_gain", "mix_large_gain")
    for suffix in ("", "_ci95_low", "_ci95_high")}


def _leaves(tree, prefix="") -> set[str]:
    if isinstance(tree, dict):
        return set().union(*(_leaves(v, f"{prefix}{k}.") for k, v in tree.items())) if tree else set()
    return {prefix[:-1]}


def test_exp_show_is_the_outcomes_one_line_per_experiment(repo):
    """Only metrics/gap.json is a DVC metric, and it holds the outcomes: per student the seven recipe averages and
    the four differences with their paired 95% CIs (19 numbers); noise bands, p-values, power and the grader audit
    are in metrics/gap_stats.json. `dvc exp show` has no other metric column, and its markdown and
    `dvc params diff --md` print one line per row."""
    _sh(repo, "dvc", "exp", "run", "-S", "mix.weight=0.5")
    diff = json.loads(_sh(repo, "dvc", "metrics", "diff", "--all", "--json"))
    assert set(diff) == {"metrics/gap.json"} and set(diff["metrics/gap.json"]) == OUTCOMES
    stats = json.loads((repo / "metrics/gap_stats.json").read_text())["tiny"]
    assert {"delta_long_noise95", "mix_long_gain_p_mcnemar", "mix_long_gain_checker", "train_seeds"} <= set(stats)
    assert re.search(r"^\| params.yaml\s+\| mix.weight\s+\| 0.2\s+\| 0.5", _sh(repo, "dvc", "params", "diff", "--md"), re.M)
    show = json.loads(_sh(repo, "dvc", "exp", "show", "--json"))
    data = [e["data"] for e in show if e.get("data")] + [
        r["data"] for e in show for x in e.get("experiments") or [] for r in x.get("revs") or [] if r.get("data")]
    assert len(data) >= 3  # workspace, main, the experiment(s)
    for d in data:
        assert set(d["metrics"]) == {"metrics/gap.json"}
        assert {f"tiny.{k}" for k in _leaves(d["metrics"]["metrics/gap.json"]["data"]["tiny"])} == OUTCOMES
    params = _leaves(data[0]["params"]["params.yaml"]["data"])
    header = next(ln for ln in _sh(repo, "dvc", "exp", "show", "--md").splitlines() if ln.startswith("|"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert {"Experiment", "mix.weight", "tiny.p_mix_long", "tiny.delta_long_ci95_low", "tiny.mix_long_gain"} <= set(columns)
    deps = set(data[0]["deps"])  # one hash column per file or folder dependency of the graph
    assert len(deps) >= 60 and deps <= set(columns)
    assert len(columns) == 2 + len(OUTCOMES) + len(params) + len(deps), sorted(set(columns) - deps)
    experiments = [n for n in _sh(repo, "dvc", "exp", "list", "--name-only").split() if n]
    rows = [ln for ln in _sh(repo, "dvc", "exp", "show", "--md").splitlines() if ln.startswith("|")]
    assert len(rows) == 2 + 2 + len(experiments)  # header, separator, workspace, baseline, one per experiment
    # the view the README shows: only what differs, no dependency hashes
    narrow = _sh(repo, "dvc", "exp", "show", "--md", "--only-changed", "--drop", ".*/|metrics$").splitlines()
    cols = [c.strip() for c in narrow[0].strip("|").split("|")]
    assert "mix.weight" in cols and not set(cols) & deps and len(cols) <= 2 + len(OUTCOMES) + 2, cols


def test_sweep_is_the_overlay_of_its_experiments(repo):
    """The experiments above tried mix.weight 0.5 and 1.0 beside main's 0.2: `dvc plots diff` of the sweep plot
    overlays one point per revision, at the weight each one ran."""
    experiments = [n for n in _sh(repo, "dvc", "exp", "list", "--name-only").split() if n]
    out = json.loads(_sh(repo, "dvc", "plots", "diff", "main", *experiments, "--json", "--targets", "mix_long_sweep"))
    (plot,) = out["data"]["mix_long_sweep"]
    points = plot["content"]["data"]["values"]
    by_rev = {p["rev"]: (p["mix_weight"], p["mix_long_accuracy"]) for p in points}
    assert set(by_rev) == {"main", *experiments}
    assert sorted({w for w, _ in by_rev.values()}) == [0.2, 0.5, 1.0]
    gap = json.loads(_sh(repo, "git", "show", "main:metrics/gap.json"))["tiny"]
    assert by_rev["main"] == (0.2, gap["p_mix_long"])
    shown = json.loads(_sh(repo, "dvc", "plots", "show", "--json"))["data"]
    assert sum(name == "mix_long_sweep" for name in shown) == 1
    assert not [n for n in shown if n.endswith(".png")]  # the report's pictures are outputs, not plots


def test_adding_a_training_seed_runs_only_the_new_seed(repo):
    """train.seeds [0] -> [0, 1]: the six trainings and evaluations of seed 1, then gap and report (which read every
    seed); nothing of seed 0, no teacher or mix, and analyze (first seed only) stay as they are."""
    ran = _ran(_sh(repo, "dvc", "exp", "run", "-S", "train.seeds=[0,1]"))
    assert ran == {f"train@tiny-{r}-1" for r in RECIPES} | {f"evaluate@tiny-{r}-1" for r in RECIPES} | {"gap", "report"}
    gap = json.loads((repo / "metrics/gap_stats.json").read_text())["tiny"]
    assert gap["train_seeds"] == 2
    assert "training seeds 0, 1" in (repo / "report.md").read_text()


def test_s3_remote_push_pull_then_nothing_to_run(repo, tmp_path):
    """A real S3-compatible server (moto) on 127.0.0.1: push outputs and run-cache, clone, pull, repro runs nothing."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(f"{endpoint}/mixdistill-cache", method="PUT")  # create the bucket
        urllib.request.urlopen(req, timeout=10)

        def remote(where):
            _sh(where, "dvc", "remote", "modify", "--local", "shared", "access_key_id", "testing")
            _sh(where, "dvc", "remote", "modify", "--local", "shared", "secret_access_key", "testing")

        _sh(repo, "git", "reset", "-q", "--hard")  # back to the committed baseline run
        _sh(repo, "dvc", "checkout", "-f")
        _sh(repo, "dvc", "remote", "add", "-d", "shared", "s3://mixdistill-cache/dvc")
        _sh(repo, "dvc", "remote", "modify", "shared", "endpointurl", endpoint)
        remote(repo)
        _sh(repo, "git", "add", ".dvc/config")
        _sh(repo, "git", "commit", "-qm", "shared S3 remote")
        assert "testing" not in (repo / ".dvc" / "config").read_text()  # credentials stay in config.local
        _sh(repo, "dvc", "push", "--run-cache")

        clone = tmp_path / "clone"
        _sh(tmp_path, "git", "clone", "-q", str(repo), str(clone))
        remote(clone)
        _sh(clone, "dvc", "pull", "--run-cache")
        out = _sh(clone, "dvc", "repro")
        assert _ran(out) == set(), _ran(out)
        assert (clone / "models" / "tiny" / "mix_long-0" / "adapter_model.safetensors").exists()
        assert "up to date" in _sh(clone, "dvc", "status")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_pr_report_rehearsal_and_workflow(repo, tmp_path):
    """The CML workflow is valid YAML, and the report script it runs works against a base revision."""
    import yaml

    wf = yaml.safe_load((Path(__file__).resolve().parents[2] / ".github/workflows/cml.yaml").read_text())
    steps = [s.get("run", "") for s in wf["jobs"]["report-cpu"]["steps"]]
    assert any("scripts/pr-report.sh origin/main" in s for s in steps) and any("cml comment update" in s for s in steps)
    script = Path(__file__).resolve().parents[2] / "scripts/pr-report.sh"
    _sh(repo, "git", "checkout", "-q", "-b", "pr-weight")
    params = (repo / "params.yaml").read_text().replace("weight: 0.2", "weight: 0.8", 1)
    (repo / "params.yaml").write_text(params)
    _sh(repo, "dvc", "repro")
    out = tmp_path / "pr.md"
    _sh(repo, "bash", str(script), "main", str(out))
    md = out.read_text()
    assert "| mix.weight" in md and "0.2" in md and "0.8" in md
    assert "Metrics against `main`" in md and "metrics/mixes/" not in md  # only the outcomes are DVC metrics
    assert "Full report" in md
    assert "| Δ_Long |" in md and "95% CI" in md  # the gap table with its intervals
    # every plot with both revisions overlaid, drawn to PNG beside the report for cml --publish
    for name in ("recipe_accuracy", "response_tokens", "mix_long_sweep", "mix_large_sweep"):
        assert f"**{name}** (main, workspace)\n\n![{name}](plots-diff/{name}.png)" in md, md
        assert (tmp_path / f"plots-diff/{name}.png").read_bytes()[:4] == b"\x89PNG"
    curves = re.search(r"<details><summary>Training curves \((\d+) plots\)</summary>", md)
    assert curves and int(curves.group(1)) >= 12  # loss and learning rate of every training run, folded away
    _sh(repo, "git", "checkout", "-q", "-f", "main")
    _sh(repo, "dvc", "checkout", "-f")
