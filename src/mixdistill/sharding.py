"""Saving a model whose weights are spread over ranks: one gather-and-save for every sharded training path (the
trainer's FSDP and DeepSpeed ZeRO-3 under accelerate, torch's own FSDP2 under torchrun). Imports nothing from the
project, so a bare GPU machine with torch and transformers can run it (scripts/gpu_check.py)."""

from __future__ import annotations

from pathlib import Path


def gather_state_dict(model, accelerator=None) -> dict:
    """The full, unsharded state dict of a model whose weights FSDP (1 or 2) or DeepSpeed ZeRO-3 spread over the
    ranks, gathered to CPU for rank 0 to save. Collective: every rank must call it. Under accelerate (the trainer's
    FSDP and ZeRO-3 paths) accelerate gathers; a model sharded by torch's own `fully_shard` (FSDP2 under torchrun)
    is gathered by torch's distributed state-dict API, as accelerate does for FSDP2."""
    if accelerator is not None:
        return accelerator.get_state_dict(model)
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def save_weights(model, folder: str | Path, state_dict: dict | None = None) -> None:
    """Save a model (or, for a PEFT model, its adapter) to `folder`, from a gathered full state dict where the weights
    were sharded (`gather_state_dict`), else from the model's own weights."""
    if state_dict is None:
        model.save_pretrained(folder)
    else:  # a gathered state dict holds a tied weight twice (lm_head beside the embeddings): keep one, as a plain save
        tied = getattr(model, "all_tied_weights_keys", None) or {}
        model.save_pretrained(folder, state_dict={k: v for k, v in state_dict.items() if k not in tied})
