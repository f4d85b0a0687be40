"""Student fine-tuning with TRL's SFTTrainer: LoRA (PEFT) or full, logged with DVCLive.

Records become conversational prompt/completion pairs, so the loss covers only the
teacher's response. The stage output is the final adapter (LoRA) or model (full) only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path

from .config import PromptConfig, TrainConfig
from .errors import DataError
from .io import atomic_dir, canonical_hf_files
from .sharding import gather_state_dict, save_weights
from .prompts import build_messages

log = logging.getLogger(__name__)


def to_dataset(records: list[dict], prompt: PromptConfig):
    from datasets import Dataset

    rows = [
        {
            "prompt": list(build_messages(r["question"], prompt)),
            "completion": [{"role": "assistant", "content": r["response"]}],
        }
        for r in records
    ]
    return Dataset.from_list(rows)


def run_dir(work_dir: str, base_dir: str, records: list[dict], cfg: TrainConfig, prompt: PromptConfig, seed: int) -> Path:
    """Checkpoint folder keyed by everything that decides the result, so a resume never mixes runs."""
    knobs = cfg.model_dump(exclude={"resume", "save_steps", "launch", "seeds"})  # this run's seed is `seed`
    key = json.dumps({"base": str(Path(base_dir).resolve()), "records": records, "cfg": knobs,
                      "prompt": [prompt.template, prompt.system], "seed": seed}, sort_keys=True, default=str)
    return Path(work_dir) / hashlib.sha256(key.encode()).hexdigest()[:16]


# what the pipeline sets unless train.sft says otherwise
SFT_DEFAULTS = dict(completion_only_loss=True, logging_steps=1, dataloader_num_workers=0, dataset_num_proc=None)


def sft_config(cfg: TrainConfig, seed: int, work_dir: str):
    """TRL's SFTConfig: the pipeline's settings, then train.sft as written (TRL's own field names)."""
    import torch
    from trl import SFTConfig

    cuda = torch.cuda.is_available()
    return SFTConfig(
        output_dir=work_dir,
        seed=seed,
        data_seed=seed,
        save_strategy="steps" if cfg.resume else "no",
        save_steps=cfg.save_steps,
        save_total_limit=1,
        report_to="none",
        **{"bf16": cuda, "use_cpu": not cuda, **SFT_DEFAULTS, **cfg.sft},
    )


def lora_config(cfg: TrainConfig, num_layers: int):
    """PEFT LoraConfig; `lora.layers: N` adapts only the top N layers, so backprop stops below them."""
    from peft import LoraConfig

    top = None
    if cfg.lora.layers is not None:
        top = list(range(max(num_layers - cfg.lora.layers, 0), num_layers))
    return LoraConfig(
        layers_to_transform=top,
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.targets),
        task_type="CAUSAL_LM",
    )


def build_trainer(base_dir: str, records: list[dict], cfg: TrainConfig, prompt: PromptConfig, seed: int,
                  ckpt_dir: str):
    """TRL's SFTTrainer for one run, and the tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTTrainer

    if not records:
        raise ValueError("no training records")
    if not (Path(base_dir) / "config.json").exists():
        raise FileNotFoundError(f"base model folder {base_dir} does not exist or holds no model; run its student stage first")
    set_seed(seed)
    tok = AutoTokenizer.from_pretrained(base_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=sft_config(cfg, seed, str(ckpt_dir)),
        train_dataset=to_dataset(records, prompt),
        processing_class=tok,
        peft_config=lora_config(cfg, model.config.num_hidden_layers) if cfg.method == "lora" else None,
    )
    return trainer, tok


def train(base_dir: str, records: list[dict], cfg: TrainConfig, prompt: PromptConfig, seed: int,
          out_dir: str, live_dir: str | None, work_dir: str) -> dict | None:
    ckpt_dir = run_dir(work_dir, base_dir, records, cfg, prompt, seed)
    trainer, tok = build_trainer(base_dir, records, cfg, prompt, seed, str(ckpt_dir))
    main = trainer.is_world_process_zero()  # under accelerate launch only rank 0 logs and writes
    rank, world = trainer.args.process_index, trainer.args.world_size
    live = None
    if live_dir and main:
        live = _live_logger(live_dir)
        trainer.add_callback(live)
    kept = len(trainer.train_dataset)  # TRL drops examples whose response max_length cuts off entirely
    if kept < len(records) and not trainer.args.packing:  # (packed, the rows are sequences, not examples)
        msg = (f"{len(records) - kept} of {len(records)} examples have no response token within train.sft.max_length "
               f"{trainer.args.max_length} (the prompt fills it)")
        if not kept:
            raise DataError(f"{msg}: nothing to train on; raise train.sft.max_length")
        log.warning("%s: trained on the other %d", msg, kept)
    tokens = sum(len(x) for x in trainer.train_dataset["input_ids"])
    log.info("rank %d/%d: %d examples, %d tokens per epoch", rank, world, len(records), tokens)
    resume_from = _last_checkpoint(ckpt_dir) if cfg.resume else None
    if resume_from:
        log.info("resuming from %s", resume_from)
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.time() - t0
    if live is not None:
        live.live.end()
    # FSDP / ZeRO-3 shard the weights: every rank must take part in gathering them for the save
    sharding = _sharding(trainer)
    sharded = world > 1 and sharding != "none"
    # under DeepSpeed accelerate gathers from the engine (model_wrapped), not the module inside it
    state = gather_state_dict(trainer.model_wrapped, trainer.accelerator) if sharded else None
    trainer.accelerator.wait_for_everyone()
    summary = None
    if main:  # rank 0 writes
        with atomic_dir(out_dir) as tmp:
            save_weights(trainer.accelerator.unwrap_model(trainer.model), tmp, state)
            if cfg.method == "full":
                tok.save_pretrained(tmp)
            canonical_hf_files(tmp)
        shutil.rmtree(ckpt_dir, ignore_errors=True)  # the output is saved: checkpoints are no longer needed
        args = trainer.args
        epochs = args.num_train_epochs
        summary = {
            "resumed_from_step": int(resume_from.rsplit("-", 1)[1]) if resume_from else 0,
            "world_size": world,
            "sharding": sharding,
            "method": cfg.method,
            "learning_rate": args.learning_rate,
            "global_batch": args.per_device_train_batch_size * args.gradient_accumulation_steps * world,
            "max_length": args.max_length,
            "packing": args.packing and args.packing_strategy,
            "padding_free": bool(getattr(trainer, "padding_free", False)),
            "examples": len(records),
            "rows": len(trainer.train_dataset),
            "steps": result.global_step,
            "train_loss": round(float(result.training_loss), 4),
            "final_loss": round(float(_last_loss(trainer)), 4),
            "train_tokens": int(tokens * epochs),
            # under ZeRO-3 each rank holds a shard: ds_numel is the whole parameter's size
            "trainable_params": sum(getattr(p, "ds_numel", p.numel()) for p in trainer.model.parameters() if p.requires_grad),
            # timings differ between identical runs: a run log, kept out of the DVC-tracked summary by the stage
            "run": {"seconds": round(seconds, 1), "tokens_per_second": round(tokens * epochs / max(seconds, 1e-9), 1)},
        }
        log.info("trained %s on %d examples: %d steps, loss %.3f, %.0f tok/s -> %s",
                 cfg.method, len(records), summary["steps"], summary["train_loss"], summary["run"]["tokens_per_second"], Path(out_dir))
    if world > 1:
        # no rank leaves while rank 0 writes: a rank's exit can abort in a communication thread's teardown
        # (SIGABRT, seen under ZeRO-3 on CPU) and the launcher then kills the writer; then a clean shutdown
        trainer.accelerator.wait_for_everyone()
        trainer.accelerator.end_training()
    return summary


def _sharding(trainer) -> str:
    """How the weights are spread over the ranks: deepspeed-zeroN, fsdp, or none (one copy per rank: DDP, one process)."""
    if getattr(trainer, "is_deepspeed_enabled", False):
        return f"deepspeed-zero{trainer.accelerator.state.deepspeed_plugin.zero_stage}"
    return "fsdp" if getattr(trainer, "is_fsdp_enabled", False) else "none"


def _live_logger(live_dir: str):
    """Per-step loss and learning rate through DVCLive (plots/metrics/*.tsv, metrics.json).

    DVCLive is told not to edit dvc.yaml nor create experiments: dvc.yaml declares the plots.
    """
    from dvclive import Live
    from transformers import TrainerCallback

    class LiveLoss(TrainerCallback):
        def __init__(self):
            self.live = Live(live_dir, dvcyaml=False, save_dvc_exp=False)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.live.step = state.global_step
                self.live.log_metric("loss", float(logs["loss"]))
                self.live.log_metric("learning_rate", float(logs.get("learning_rate", 0.0)))
                self.live.make_summary()

    return LiveLoss()


def _last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def _last_loss(trainer) -> float:
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return losses[-1] if losses else float("nan")
