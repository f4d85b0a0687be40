"""Bad params: every case fails before any work, naming the key path and the allowed values."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from mixdistill.config import REQUIRED, ConfigError, load_config, parse_config

from ..conftest import committed

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load(committed("params.yaml"))  # as committed: never the workspace copy


def _with(path: str, value, delete=False):
    data = copy.deepcopy(DEFAULT)
    node = data
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


CASES = [
    # (description, params, expected fragment of the one error message)
    ("weight above 1", _with("mix.weight", 1.5), "mix.weight: 1.5 is out of range; allowed: [0, 1]"),
    ("weight below 0", _with("mix.large_weight", -0.1), "mix.large_weight: -0.1 is out of range; allowed: [0, 1]"),
    ("weight wrong type", _with("mix.weight", "high"), "mix.weight: expected a number, got 'high'"),
    ("unknown teacher role", _with("teachers.huge", {"backend": "synthetic", "style": "long"}),
     "teachers.huge: unknown teacher role; allowed: long, short, large, small"),
    ("unknown backend", _with("teachers.long", {"backend": "gpt5", "model": "x"}),
     "teachers.long.backend: 'gpt5' is not allowed; allowed: synthetic, transformers, openai, vllm, dataset"),
    ("synthetic without style", _with("teachers.short", {"backend": "synthetic"}), "teachers.short.style: required for backend synthetic"),
    ("real backend without model", _with("teachers.large", {"backend": "vllm"}), "teachers.large.model: required for backend vllm"),
    ("missing role", _with("teachers.small", None, delete=True), "teachers.small: missing"),
    ("missing tracked key", _with("mix.weight", None, delete=True), "mix.weight: missing; dvc.yaml tracks this key"),
    ("unknown key", _with("train.learning_rate", 0.1), "train.learning_rate: unknown key; allowed: method, lr"),
    ("unknown top-level key", _with("mixx", {}), "mixx: unknown key"),
    ("negative count", _with("problems.benchmarks", {"x": {"task": "chain_sum", "count": -3}}),
     "problems.benchmarks.x.count: -3 is out of range; allowed: [1, inf]"),
    ("a key DVC's run-cache cannot see", _with("teachers.long", {"backend": "openai", "model": "m", "options": {"size": 3}}),
     "teachers.long.options.size: keys named size or nfiles are invisible to DVC's run-cache"),
    ("zero problems", _with("problems.train", []), "problems.train: must list at least one problem source"),
    ("no benchmarks", _with("problems.benchmarks", {}), "problems.benchmarks: must name at least one benchmark"),
    ("bad training method", _with("train.method", "qlora"), "train.method: 'qlora' is not allowed; allowed: lora, full"),
    ("bool for int", _with("train.batch_size", True), "train.batch_size: expected an integer, got True"),
    ("zero lr", _with("train.lr", 0), "train.lr: 0.0 is out of range; allowed: (0, inf]"),
    ("student name with dash", _with("students", {"smol-135m": DEFAULT["students"]["smollm2_135m"]}), "names may not contain '-'"),
    ("template without placeholder", _with("prompt.template", "Solve it"), "prompt.template: must contain the placeholder {problem}"),
    ("not a mapping", [1, 2], "<root>: expected a mapping, got list"),
    ("override for an unknown run", _with("train.overrides", {"mixx": {"lr": 0.1}}),
     "train.overrides.mixx: not a recipe, a student or STUDENT-RECIPE; recipes: long, short"),
    ("override of a per-pipeline key", _with("train.overrides", {"mix_long": {"launch": "python"}}),
     "train.overrides.mix_long.launch: not overridable per run; allowed: method, lr"),
    ("override out of range", _with("train.overrides", {"smollm2_135m-mix_large": {"batch_size": 0}}),
     "train.overrides.smollm2_135m-mix_large.batch_size: 0 is out of range; allowed: [1, inf]"),
    ("override of a lora key", _with("train.overrides", {"long": {"lora": {"rank": 8}}}),
     "train.overrides.long.lora.rank: unknown key; allowed: r, alpha"),
    ("released set for a single-teacher recipe", _with("mix.released", {"long": {"dataset": "x.jsonl"}}),
     "mix.released.long: only mix recipes take a released set; allowed: mix_long, mix_large"),
    ("released set without a dataset", _with("mix.released", {"mix_long": {"question_column": "problem"}}),
     "mix.released.mix_long.dataset: required"),
    ("several greedy samples", _with("evaluate.samples", 4), "evaluate.samples: 4 samples of greedy decoding are identical"),
    ("bad packing strategy", _with("train.packing_strategy", "greedy"),
     "train.packing_strategy: 'greedy' is not allowed; allowed: bfd, wrapped"),
]


@pytest.mark.parametrize("desc, data, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_params_fail_with_key_path(desc, data, fragment):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert fragment in str(err.value)


def test_every_problem_is_reported_at_once():
    data = _with("mix.weight", 2.0)
    data["train"]["method"] = "qlora"
    data["teachers"]["huge"] = {"backend": "synthetic", "style": "long"}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert len(err.value.problems) == 3
    assert "3 problem(s)" in str(err.value)


def test_default_params_and_profiles_are_valid():
    cfg = parse_config(DEFAULT)
    assert cfg.recipe_weight("mix_long") == 0.2 and cfg.recipe_weight("long") == 1.0 and cfg.recipe_weight("small") == 0.0
    profiles = sorted((ROOT / "tests" / "profiles").glob("*.yaml")) + sorted((ROOT / "profiles").glob("*.yaml"))
    assert len(profiles) >= 5
    for profile in profiles:
        load_config(profile)


def test_required_keys_match_what_dvc_yaml_tracks():
    dvc = (ROOT / "dvc.yaml").read_text()
    declared = set(re.findall(r"^\s+- ((?:seed|prompt|problems|students|teachers|mix|train|evaluate)[\w.]*)\s*$", dvc, re.M))
    declared |= {"mix.weight", "mix.large_weight"}  # declared through the recipes' wkey
    tracked = {d for d in declared if "${" not in d}
    assert tracked <= set(REQUIRED), tracked - set(REQUIRED)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
