"""The study's design is defined once (mixdistill.study): dvc.yaml restates its recipes, and a new recipe is one edit."""

from __future__ import annotations

import shutil
import subprocess
import sys

import yaml

from mixdistill.study import RECIPES, STATISTICS, Run

from ..conftest import ROOT, committed


def test_dvc_yaml_recipe_table_is_the_study_recipe_table():
    """dvc.yaml's vars.recipes (what its matrices expand) restates study.RECIPES: the same recipes in the same order,
    each with the same teacher pair and the params key that holds its weight."""
    (declared,) = [v["recipes"] for v in yaml.safe_load((ROOT / "dvc.yaml").read_text())["vars"] if "recipes" in v]
    assert list(declared) == list(RECIPES)
    for name, r in RECIPES.items():
        assert (declared[name]["hard"], declared[name]["easy"]) == (r.hard, r.easy), name
        assert declared[name]["wkey"] == (f"mix.{r.weight}" if isinstance(r.weight, str) else "seed"), name


def test_statistics_and_run_names_derive_from_the_recipes():
    assert [(s.name, s.a, s.b) for s in STATISTICS] == [
        ("delta_long", "long", "short"), ("delta_large", "large", "small"),
        ("mix_long_gain", "mix_long", None), ("mix_large_gain", "mix_large", None)]
    for name in ("smol-base", "smol-mix_long-0", "qwen25_05b-short-42"):
        assert Run.parse(name).name == name
    assert Run.parse("smol-unknown-0") is None and Run.parse("smol-long") is None


def test_a_new_recipe_is_one_edit(tmp_path):
    """Add a throwaway recipe to a copy of study.py only: the schema, the gap statistics, the report's labels, the
    plots and the comparison view all pick it up."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    study = src / "mixdistill" / "study.py"
    text = study.read_text()
    anchor = '    Recipe("mix_large", "large", "small", "large_weight", "Mix-Large"),\n'
    assert anchor in text
    study.write_text(text.replace(anchor, anchor + '    Recipe("mix_both", "long", "short", "weight", "Mix-Both"),\n'))
    probe = """
from mixdistill.config import parse_config
from mixdistill.gap import student_gap
from mixdistill.report import LABEL, STAT_LABEL
from mixdistill.compare import render
import yaml
cfg = yaml.safe_load(open(PARAMS))
cfg["train"]["overrides"] = {"mix_both": {"sft": {"learning_rate": 0.001}}}
parse_config(cfg, "p", ROOT)
acc = lambda a: {"accuracy": {"b": a, "average": a}, "n": {"b": 10}}
g = student_gap({"long": acc(20.0), "short": acc(30.0), "mix_both": acc(35.0)})
print(g["mix_both_gain"], LABEL["mix_both"], STAT_LABEL["mix_both_gain"])
print(render([{"name": "x", "params": {}, "outcomes": {"s": {"mix_both_gain": 5.0}}}])[0])
"""
    (tmp_path / "params.yaml").write_text(committed("params.yaml"))  # never the workspace's
    p = subprocess.run([sys.executable, "-c", f"PARAMS, ROOT = {str(tmp_path / 'params.yaml')!r}, {str(ROOT)!r}\n{probe}"],
                       env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    first, header = p.stdout.splitlines()
    assert first == "5.0 Mix-Both Mix-Both gain"
    assert header.endswith("Mix-Both gain")
