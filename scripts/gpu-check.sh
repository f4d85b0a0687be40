#!/usr/bin/env bash
# The GPU check, ready for a GPU machine with torch and transformers and no internet (see scripts/gpu_check.py):
#   bash scripts/gpu-check.sh        # at most ~5 minutes on one H100/H200; prints tokens/s and peak memory as JSON
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || { echo "gpu-check: no nvidia-smi: not a GPU machine" >&2; exit 2; }
python -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"
timeout 300 python scripts/gpu_check.py --device cuda
