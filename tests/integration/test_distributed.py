"""The multi-process training paths on CPU: `accelerate launch` with 2 processes and the gloo backend (DDP), and
torch's own FSDP2 under torchrun for the gather-and-save every sharded path uses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ..conftest import ROOT


def test_two_process_training_splits_the_data_and_writes_once(tmp_path, tiny_params, tiny_model, tiny_run):
    accelerate = Path(sys.executable).parent / "accelerate"
    out = tmp_path / "adapter"
    cmd = [str(accelerate), "launch", "--config_file", str(ROOT / "configs/accelerate/cpu2.yaml"), "--main_process_port",
           "0", "-m", "stages.train", "--params", str(tiny_params), "--base", str(tiny_model),
           "--data", str(tiny_run / "mixes/short.jsonl"), "--out", str(out), "--metrics", str(tmp_path / "m.json"), "--live", str(tmp_path / "live"),
           "--work", str(tmp_path / "work"), "--seed", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
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


@pytest.mark.parametrize("method", ["full", "lora"])
def test_fsdp2_on_two_processes_saves_what_one_process_trains(method, tmp_path, tiny_model):
    """The shared gather-and-save (mixdistill.sharding) under torch's own FSDP2 (accelerate turns FSDP on CPU into DDP, so the trainer's FSDP
    path cannot run here; this is the same gather accelerate uses for FSDP2): 2 processes, each half the global batch,
    save weights equal, within float tolerance, to one process training on the whole batch."""
    worker = ROOT / "tests" / "integration" / "fsdp_worker.py"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "OMP_NUM_THREADS": "1"}
    one, two = tmp_path / "one", tmp_path / "two"
    common = ["--base", str(tiny_model), "--method", method]
    p = subprocess.run([sys.executable, str(worker), *common, "--out", str(one)], env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29547",
                        str(worker), *common, "--out", str(two)], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    name = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    a, b = load_file(one / name), load_file(two / name)
    assert sorted(a) == sorted(b) and len(a) > 0
    assert not any(k.startswith("_fsdp") or "._checkpoint" in k for k in b)  # plain names, loadable by from_pretrained
    base = load_file(tiny_model / "model.safetensors") if method == "full" else None
    for k in a:
        assert a[k].shape == b[k].shape, k
        assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), (k, (a[k] - b[k]).abs().max())
    if base is not None:  # the run really trained: the saved weights moved from the base model's
        assert any(not torch.equal(a[k], base[k]) for k in a if k in base)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_deepspeed_zero3_trains_and_saves_what_ddp_does(method, tmp_path, tiny_params, tiny_model, tiny_run):
    """The paper profiles' launch, for real on CPU: the shipped ZeRO-3 accelerate config (2 processes, DeepSpeed's CPU
    accelerator, gloo) through the train stage, TRL and the shared gather-and-save; the saved weights equal a 2-process
    DDP run's on the same data (same split, same loss averaging) within float tolerance."""
    import yaml

    zero3 = yaml.safe_load((ROOT / "configs/accelerate/deepspeed_zero3.yaml").read_text())
    zero3.update(num_processes=2, use_cpu=True, mixed_precision="no")  # bf16 is the GPU setting
    (tmp_path / "zero3.yaml").write_text(yaml.safe_dump(zero3))
    params = tmp_path / "params.yaml"
    data = yaml.safe_load(tiny_params.read_text())
    data["train"]["method"] = method
    params.write_text(yaml.safe_dump(data))
    accelerate = Path(sys.executable).parent / "accelerate"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
    outs, summaries = {}, {}
    for name, cfg in (("zero3", tmp_path / "zero3.yaml"), ("ddp", ROOT / "configs/accelerate/cpu2.yaml")):
        out = tmp_path / name
        cmd = [str(accelerate), "launch", "--config_file", str(cfg), "--main_process_port", "0",  # a free port
               "-m", "stages.train", "--params", str(params),
               "--base", str(tiny_model), "--data", str(tiny_run / "mixes/short.jsonl"), "--out", str(out),
               "--metrics", str(tmp_path / f"{name}.json"), "--work", str(tmp_path / f"work-{name}"), "--seed", "0"]
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        summary = json.loads((tmp_path / f"{name}.json").read_text())
        assert (summary["world_size"], summary["sharding"]) == (2, "deepspeed-zero3" if name == "zero3" else "none")
        outs[name], summaries[name] = out, summary
    # the same model: ZeRO-3 counts whole parameters, not each rank's shard (it reported 74,304 of 9.8M before)
    assert summaries["zero3"]["trainable_params"] == summaries["ddp"]["trainable_params"]
    name = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    a, b = load_file(outs["ddp"] / name), load_file(outs["zero3"] / name)
    assert sorted(a) == sorted(b) and len(a) > 0
    for k in a:
        assert a[k].shape == b[k].shape and torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), (k, (a[k] - b[k]).abs().max())
    if method == "full":  # a full model: its tokenizer and config beside the weights, loadable as the next stage loads it
        assert (outs["zero3"] / "tokenizer.json").exists() and (outs["zero3"] / "config.json").exists()
