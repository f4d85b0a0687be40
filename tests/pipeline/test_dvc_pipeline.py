"""The DVC graph itself: a real `dvc repro`, then `dvc exp run -S ...` reruns only what the change touches."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

from .conftest import RECIPES, _changed_stages, ran as _ran, sh as _sh


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


def test_an_accelerate_config_edit_reruns_the_training_stages_only(repo):
    """train.launch may name an accelerate config, whose num_processes or ZeRO stage changes a run's result; the launch
    string cannot name a dep, so training depends on configs/accelerate/: an edit there reruns every train stage."""
    path = "configs/accelerate/deepspeed_zero3.yaml"
    f = repo / path
    text = f.read_text()
    assert "\nnum_processes: 4\n" in text
    f.write_text(text.replace("\nnum_processes: 4\n", "\nnum_processes: 8\n"))
    try:
        changed = _changed_stages(repo)
    finally:
        _sh(repo, "git", "checkout", "--", path)
    assert set(changed) == {f"train@tiny-{r}-0" for r in RECIPES}
    assert all(deps == {"configs/accelerate"} for deps in changed.values())
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


OUTCOMES = {f"tiny.p_{r}" for r in ("base", *RECIPES)} | {
    f"tiny.{k}{suffix}" for k in ("delta_long", "delta_large", "mix_long_gain", "mix_large_gain")
    for suffix in ("", "_ci95_low", "_ci95_high")}


def _experiments(show: list) -> list[dict]:
    """The experiment rows of `dvc exp show --json` (name, data), under every baseline."""
    return [r for e in show for x in e.get("experiments") or [] for r in x.get("revs") or [] if r.get("data")]


def _leaves(tree, prefix="") -> set[str]:
    if isinstance(tree, dict):
        return set().union(*(_leaves(v, f"{prefix}{k}.") for k, v in tree.items())) if tree else set()
    return {prefix[:-1]}


def test_exp_show_is_the_outcomes_one_line_per_experiment(repo):
    """Only metrics/gap.json is a DVC metric, and it holds the outcomes: per student the seven recipe averages and
    the four differences with their paired 95% CIs (19 numbers); noise bands, p-values, power and the grader audit
    are in metrics/gap_stats.json. `dvc exp show` has no other metric column, and its markdown and
    `dvc params diff --md` print one line per row."""
    # a second experiment, on top of the weight 1.0 one above; an analysis setting reruns only analyze and report
    _sh(repo, "dvc", "exp", "run", "-S", "analysis.top_k=3")
    diff = json.loads(_sh(repo, "dvc", "metrics", "diff", "--all", "--json"))
    assert set(diff) == {"metrics/gap.json"} and set(diff["metrics/gap.json"]) == OUTCOMES
    stats = json.loads((repo / "metrics/gap_stats.json").read_text())["tiny"]
    assert {"delta_long_noise95", "mix_long_gain_p_mcnemar", "mix_long_gain_checker", "train_seeds"} <= set(stats)
    params_diff = _sh(repo, "dvc", "params", "diff", "--md")
    assert re.search(r"^\| params.yaml\s+\| mix.weight\s+\| 0.2\s+\| 1.0", params_diff, re.M), params_diff
    assert re.search(r"^\| params.yaml\s+\| analysis.top_k\s+\| 5\s+\| 3", params_diff, re.M), params_diff
    show = json.loads(_sh(repo, "dvc", "exp", "show", "--json"))
    data = [e["data"] for e in show if e.get("data")] + [r["data"] for r in _experiments(show)]
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
    """The experiments above ran at mix.weight 1.0 beside main's 0.2: `dvc plots diff` of the sweep plot overlays
    one point per revision, at the weight each one ran."""
    experiments = [n for n in _sh(repo, "dvc", "exp", "list", "--name-only").split() if n]
    out = json.loads(_sh(repo, "dvc", "plots", "diff", "main", *experiments, "--json", "--targets", "mix_long_sweep"))
    (plot,) = out["data"]["mix_long_sweep"]
    points = plot["content"]["data"]["values"]
    by_rev = {p["rev"]: (p["weight"], p["accuracy"], p["ci95_low"], p["ci95_high"], p["hard"], p["easy"]) for p in points}
    assert set(by_rev) == {"main", *experiments}
    assert sorted(w[0] for w in by_rev.values()) == [0.2, 1.0, 1.0]
    gap = json.loads(_sh(repo, "git", "show", "main:metrics/gap_stats.json"))["tiny"]  # the gap stage's own intervals
    assert by_rev["main"] == (0.2, gap["p_mix_long"], gap["p_mix_long_ci95_low"], gap["p_mix_long_ci95_high"],
                              gap["p_long"], gap["p_short"])
    assert gap["p_mix_long_ci95_low"] <= gap["p_mix_long"] <= gap["p_mix_long_ci95_high"]
    # every study plot: one mark per item and revision, revisions side by side (not a doubled row list), and the
    # intervals are the gap stage's numbers
    out = json.loads(_sh(repo, "dvc", "plots", "diff", "main", *experiments, "--json", "--targets", "gap_forest",
                         "recipe_accuracy", "benchmark_accuracy"))
    revs = {"main", *experiments}
    for name, key, items in (("gap_forest", "statistic", 4), ("recipe_accuracy", "recipe", 7),
                             ("benchmark_accuracy", ("recipe", "benchmark"), 14)):
        (plot,) = out["data"][name]
        rows = plot["content"]["data"]["values"]
        keys = [(tuple(r[k] for k in key) if isinstance(key, tuple) else r[key], r["rev"]) for r in rows]
        assert len(keys) == len(set(keys)) == items * len(revs), (name, keys)
        assert "yOffset" in json.dumps(plot["content"]) and {r["rev"] for r in rows} == revs
    forest = {r["statistic"]: r for r in out["data"]["gap_forest"][0]["content"]["data"]["values"] if r["rev"] == "main"}
    long = forest["Δ_Long (Long CoT − Short CoT)"]
    assert (long["value"], long["ci95_low"], long["ci95_high"], long["strict_boxed"]) == (
        gap["delta_long"], gap["delta_long_ci95_low"], gap["delta_long_ci95_high"], gap["delta_long_strict_boxed"])
    shown = json.loads(_sh(repo, "dvc", "plots", "show", "--json"))["data"]
    assert sum(name == "mix_long_sweep" for name in shown) == 1
    assert not [n for n in shown if n.endswith(".png")]  # the report's pictures are outputs, not plots


def test_pr_report_rehearsal_and_workflow(repo, tmp_path):
    """The CML workflow is valid YAML, and the report script it runs works against a base revision."""
    import yaml

    wf = yaml.safe_load((Path(__file__).resolve().parents[2] / ".github/workflows/cml.yaml").read_text())
    steps = [s.get("run", "") for s in wf["jobs"]["report-cpu"]["steps"]]
    assert any("scripts/pr-report.sh origin/main" in s for s in steps) and any("cml comment update" in s for s in steps)
    script = Path(__file__).resolve().parents[2] / "scripts/pr-report.sh"
    # the PR: the mix.weight=1.0 experiment above, promoted to a branch (its outputs are in the cache: nothing reruns)
    show = json.loads(_sh(repo, "dvc", "exp", "show", "--json"))
    params = {r["name"]: r["data"]["params"]["params.yaml"]["data"] for r in _experiments(show)}
    (name,) = [n for n, p in params.items() if p["mix"]["weight"] == 1.0 and p["analysis"]["top_k"] == 5]
    _sh(repo, "dvc", "exp", "branch", name, "pr-weight")
    _sh(repo, "git", "checkout", "-q", "-f", "pr-weight")  # the workspace holds the last experiment run
    _sh(repo, "dvc", "checkout", "-f")
    assert "up to date" in _sh(repo, "dvc", "status")
    out = tmp_path / "pr.md"
    _sh(repo, "bash", str(script), "main", str(out))
    md = out.read_text()
    assert re.search(r"^\| params.yaml\s+\| mix.weight\s+\| 0.2\s+\| 1.0", md, re.M), md
    assert "Metrics against `main`" in md and "metrics/mixes/" not in md  # only the outcomes are DVC metrics
    assert "Full report" in md
    assert "| Δ_Long |" in md and "95% CI" in md  # the gap table with its intervals
    # every plot with both revisions overlaid, drawn to PNG beside the report for cml --publish
    for name in ("gap_forest", "recipe_accuracy", "benchmark_accuracy", "response_tokens", "mix_long_sweep", "mix_large_sweep"):
        assert f"**{name}** (main, workspace)\n\n![{name}](plots-diff/{name}.png)" in md, md
        assert (tmp_path / f"plots-diff/{name}.png").read_bytes()[:4] == b"\x89PNG"
    curves = re.search(r"<details><summary>Training curves \((\d+) plots\)</summary>", md)
    assert curves and int(curves.group(1)) >= 12  # loss and learning rate of every training run, folded away
    _sh(repo, "git", "checkout", "-q", "-f", "main")
    _sh(repo, "dvc", "checkout", "-f")
