"""Training throughput through mixdistill's train() vs a bare TRL script on the same data.

    python scripts/bench_train.py models/smollm2_135m/base data/mixes/short.jsonl

Both runs use the same model, records, prompt format and knobs from params.yaml (LoRA, batch,
lr, epochs); the bare run is plain SFTTrainer + LoraConfig with nothing of ours around it.
Prints tokens/s for each and the ratio (target: ours >= 0.9x bare).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from mixdistill.config import load_config
from mixdistill.io import read_jsonl
from mixdistill.train import lora_config, sft_config, to_dataset, train


def bare(base: str, records: list[dict], cfg, prompt, seed: int, work: str) -> float:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    trainer = SFTTrainer(model=model, args=sft_config(cfg, seed, work), train_dataset=to_dataset(records, prompt),
                         processing_class=tok,
                         peft_config=lora_config(cfg, model.config.num_hidden_layers) if cfg.method == "lora" else None)
    tokens = sum(len(x) for x in trainer.train_dataset["input_ids"]) * trainer.args.num_train_epochs
    t = time.time()
    trainer.train()
    return tokens / (time.time() - t)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("data")
    p.add_argument("--params", default="params.yaml")
    args = p.parse_args(argv)
    cfg = load_config(args.params)
    records = read_jsonl(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        b = bare(args.base, records, cfg.train, cfg.prompt, cfg.seed, f"{tmp}/bare")
        ours = train(args.base, records, cfg.train, cfg.prompt, cfg.seed, f"{tmp}/out", f"{tmp}/live", f"{tmp}/work")
    o = ours["run"]["tokens_per_second"]
    print(f"\n| run | tokens/s |\n|---|---|\n| bare TRL SFTTrainer | {b:.1f} |\n| mixdistill train() | {o:.1f} |\n"
          f"| ratio (ours / bare) | {o / b:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
