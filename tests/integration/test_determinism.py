"""Identical inputs give identical bytes, whatever the process's hash seed or the HF_HUB_OFFLINE setting.

Two causes were seen in from-scratch runs of the default: PEFT writes `target_modules` (a Python set) in
hash-seed order, and transformers writes `local_files_only` (from HF_HUB_OFFLINE) into tokenizer_config.json.
Each stage runs here in its own process, as under DVC, with those two things varied.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mixdistill.io import canonical_hf_files, read_json

from ..conftest import ROOT, write_params

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]  # 7! orders


def _stage(args: list[str], hash_seed: int, offline: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(PYTHONPATH=str(ROOT), PYTHONHASHSEED=str(hash_seed), **({"HF_HUB_OFFLINE": "1"} if offline else {}))
    p = subprocess.run([sys.executable, "-m", *args], env=env, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]


def _files(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


def test_student_import_is_byte_identical_online_or_offline(tmp_path, tiny_params):
    outs = []
    for i, (seed, offline) in enumerate([(1, True), (2, False)]):
        out = tmp_path / f"s{i}"
        _stage(["stages.student", "--params", str(tiny_params), "--name", "tiny", "--out", str(out)], seed, offline)
        outs.append(_files(out))
    assert outs[0] == outs[1]
    assert "local_files_only" not in json.loads(outs[0]["tokenizer_config.json"])


def test_training_is_byte_identical_across_hash_seeds(tmp_path, tiny_model, tiny_run):
    params = write_params(tmp_path, **{"train.lora.targets": TARGETS})
    runs = []
    for seed in (1, 2):
        d = tmp_path / f"run{seed}"
        _stage(["stages.train", "--params", str(params), "--base", str(tiny_model), "--data",
                str(tiny_run / "mixes/mix_long.jsonl"), "--out", str(d / "adapter"), "--metrics", str(d / "m.json"),
                "--log", str(d / "log.json"), "--work", str(d / "work"), "--seed", "0"], seed, True)
        runs.append(d)
    a, b = (_files(d / "adapter") for d in runs)
    assert a == b
    assert json.loads(a["adapter_config.json"])["target_modules"] == sorted(TARGETS)
    assert (runs[0] / "m.json").read_bytes() == (runs[1] / "m.json").read_bytes()
    # what differs between identical runs is in the run log, not in the tracked metric
    assert set(read_json(runs[0] / "log.json")) == {"seconds", "tokens_per_second"}
    assert not {"seconds", "tokens_per_second"} & set(read_json(runs[0] / "m.json"))


def test_canonical_hf_files_drops_load_time_keys_and_sorts_sets(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"local_files_only": True, "is_local": True, "eos_token": "x"}))
    (tmp_path / "adapter_config.json").write_text(json.dumps({"target_modules": ["v", "q"], "layers_to_transform": [3, 1]}))
    (tmp_path / "config.json").write_text('{"b": 1, "a": 2}')
    canonical_hf_files(tmp_path)
    assert read_json(tmp_path / "tokenizer_config.json") == {"eos_token": "x"}
    # sets are sorted; an ordered list (which layers) is left as it is
    assert read_json(tmp_path / "adapter_config.json") == {"target_modules": ["q", "v"], "layers_to_transform": [3, 1]}
    assert (tmp_path / "config.json").read_text() == '{"b": 1, "a": 2}'  # other files untouched
