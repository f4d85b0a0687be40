"""The multi-process training path on CPU: `accelerate launch` with 2 processes and the gloo backend."""

import json
import os
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from ..conftest import ROOT


def test_two_process_training_splits_the_data_and_writes_once(tmp_path, tiny_params, tiny_model, tiny_run):
    accelerate = Path(sys.executable).parent / "accelerate"
    out = tmp_path / "adapter"
    cmd = [str(accelerate), "launch", "--config_file", str(ROOT / "configs/accelerate/cpu2.yaml"), "-m", "stages.train",
           "--params", str(tiny_params), "--base", str(tiny_model), "--data", str(tiny_run / "mixes/short.jsonl"),
           "--out", str(out), "--metrics", str(tmp_path / "m.json"), "--live", str(tmp_path / "live"),
           "--work", str(tmp_path / "work")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MASTER_PORT": "29533"}
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "rank 0/2" in p.stderr and "rank 1/2" in p.stderr  # both processes trained
    summary = json.loads((tmp_path / "m.json").read_text())
    # 10 examples, batch 4 per process, 2 processes: ceil(10 / 8) = 2 steps (one process alone takes 3)
    assert summary["world_size"] == 2 and summary["steps"] == 2
    weights = load_file(out / "adapter_model.safetensors")
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)
    assert not list(tmp_path.glob(".adapter.*")), "a second rank wrote a temp output"
