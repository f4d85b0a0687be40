"""One training run of the tiny student under torch's own FSDP2 (torchrun, gloo, CPU) or in a single process, saved
through the shared gather-and-save (mixdistill.sharding). Run by tests/integration/test_distributed.py:

    torchrun --nproc_per_node 2 tests/integration/fsdp_worker.py --base DIR --method full --out DIR
    python tests/integration/fsdp_worker.py --base DIR --method lora --out DIR     (one process, the same global batch)
"""

from __future__ import annotations

import argparse
import os

import torch

GLOBAL_BATCH, LENGTH, STEPS = 4, 16, 3


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--method", choices=["full", "lora"], required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    from transformers import AutoModelForCausalLM

    from mixdistill.sharding import gather_state_dict, save_weights

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
    if args.method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                                 init_lora_weights="gaussian"))  # non-zero B: every step moves both
    if world > 1:
        from torch.distributed.fsdp import fully_shard

        for layer in model.get_base_model().model.layers if args.method == "lora" else model.model.layers:
            fully_shard(layer)
        fully_shard(model)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    data = torch.randint(0, model.config.vocab_size, (STEPS, GLOBAL_BATCH, LENGTH), generator=torch.Generator().manual_seed(1))
    per_rank = GLOBAL_BATCH // world
    for step in range(STEPS):
        batch = data[step, rank * per_rank:(rank + 1) * per_rank]  # equal lengths: the mean of rank means is the global mean
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    state = gather_state_dict(model) if world > 1 else None  # every rank takes part in the gather
    if rank == 0:
        save_weights(model, args.out, state)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
