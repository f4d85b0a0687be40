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
           "--work", str(tmp_path / "work"), "--seed", "0"]
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


def test_shipped_accelerate_configs_load_and_leave_batching_to_the_trainer():
    """Every config in configs/accelerate loads with accelerate's own loader (unknown keys fail there), and the
    DeepSpeed one does not pin gradient accumulation, which would clash with per-run train.overrides."""
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {}
    for path in sorted((ROOT / "configs/accelerate").glob("*.yaml")):
        kinds[path.stem] = load_config_from_file(str(path))
    assert {k: str(c.distributed_type).rsplit(".", 1)[-1] for k, c in kinds.items()} == {
        "cpu2": "MULTI_GPU", "ddp": "MULTI_GPU", "deepspeed_zero3": "DEEPSPEED", "fsdp": "FSDP"}
    ds = kinds["deepspeed_zero3"].deepspeed_config
    assert ds["zero_stage"] == 3 and ds.get("gradient_accumulation_steps", "auto") == "auto"
    assert kinds["cpu2"].use_cpu and kinds["cpu2"].num_processes == 2
