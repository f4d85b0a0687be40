"""The GPU check: a twin at real width, trained and evaluated in bf16, with tokens/s and peak memory.

    bash scripts/gpu-check.sh                        # on the GPU machine (at most ~5 minutes on one H100/H200)
    python scripts/gpu_check.py --device cpu --tiny  # a smoke run of this script on a laptop (the tests run it)

Needs only torch and transformers (the GPU machine has no TRL, vLLM or DVC and no internet): a randomly initialised
Qwen2.5-0.5B-shaped student (24 layers, hidden 896, 14 heads / 2 KV heads, vocabulary 151,936) trains on packed
4,096-token rows with AdamW (the paper profiles' packing length), then generates greedily at batch 64, then saves
through the pipeline's own `save_weights`. The multi-GPU path (FSDP / ZeRO-3 with world size > 1) is not run: it says
so in its output rather than pretending (on CPU the tests run ZeRO-3 and FSDP2 on 2 processes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

QWEN05 = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
              num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=4096)


def model(shape: dict, device: str, dtype):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    return Qwen2ForCausalLM(Qwen2Config(**shape)).to(device=device, dtype=dtype)


def train(m, device: str, length: int, steps: int, batch: int) -> dict:
    import torch

    opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
    data = torch.randint(0, m.config.vocab_size, (steps + 1, batch, length), device=device)
    m.gradient_checkpointing_enable()
    m.train()
    m(input_ids=data[0], labels=data[0]).loss.backward()  # warm-up step: kernels, allocator
    opt.step()
    opt.zero_grad()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    t = time.time()
    for i in range(1, steps + 1):
        loss = m(input_ids=data[i], labels=data[i]).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    sync()
    seconds = time.time() - t
    return {"train_tokens_per_s": round(steps * batch * length / seconds, 1), "train_steps": steps,
            "train_row_tokens": length, "train_batch": batch, "loss": round(float(loss), 3)}


def generate(m, device: str, batch: int, new_tokens: int) -> dict:
    import torch

    m.eval()
    prompts = torch.randint(0, m.config.vocab_size, (batch, 64), device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.no_grad():
        sync()
        t = time.time()
        out = m.generate(prompts, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
        sync()
    seconds = time.time() - t
    made = (out.shape[1] - prompts.shape[1]) * batch
    return {"generate_tokens_per_s": round(made / seconds, 1), "generate_batch": batch, "generate_new_tokens": new_tokens}


def main(argv=None) -> int:
    import torch

    from mixdistill.sharding import save_weights

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="a 2-layer width-64 model with short rows (a smoke run)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu-check: no CUDA device; run with --device cpu --tiny for a smoke run", file=sys.stderr)
        return 2
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    shape, length, steps, batch = (TINY, 128, 2, 2) if args.tiny else (QWEN05, 4096, 10, 2)
    gen_batch, new_tokens = (4, 8) if args.tiny else (64, 256)
    result = {"device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu", "dtype": str(dtype),
              "torch": torch.__version__}
    m = model(shape, args.device, dtype)
    result["parameters"] = sum(q.numel() for q in m.parameters())
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    result |= train(m, args.device, length, steps, batch)
    result |= generate(m, args.device, gen_batch, new_tokens)
    if args.device == "cuda":
        result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    with tempfile.TemporaryDirectory() as d:
        t = time.time()
        save_weights(m, d)
        result["save_seconds"] = round(time.time() - t, 1)
        result["saved_mb"] = round(sum(f.stat().st_size for f in Path(d).iterdir()) / 2**20, 1)
    gpus = torch.cuda.device_count() if args.device == "cuda" else 0
    result["multi_gpu"] = (f"not run: FSDP / DeepSpeed with world size > 1 needs two GPUs ({gpus} here)" if gpus < 2 else
                           f"not run: {gpus} GPUs here, but this check does not launch the 2-process path yet")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
