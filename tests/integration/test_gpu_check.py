"""scripts/gpu_check.py stays runnable between GPU sessions: its smoke run on CPU trains, generates and saves."""

import json
import os
import subprocess
import sys

from ..conftest import ROOT


def test_the_gpu_check_script_runs_its_smoke_run_on_cpu():
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--device", "cpu", "--tiny"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout[p.stdout.index("{"):])
    assert r["parameters"] == 9798208  # Qwen2.5's vocabulary (151,936 x 64, tied) at width 64, 2 layers
    assert r["train_tokens_per_s"] > 0 and r["generate_tokens_per_s"] > 0 and r["saved_mb"] > 30
    assert r["multi_gpu"].startswith("not run: FSDP / DeepSpeed with world size > 1 needs two GPUs")
