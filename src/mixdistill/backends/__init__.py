"""Generation backends, chosen by name; each imports its heavy library only when chosen.

    synthetic     offline worked solutions in a configurable style (no model)
    transformers  in-process batched generation with a Hugging Face model
    openai        any OpenAI-compatible HTTP server (vLLM serve, SGLang, TGI, transformers serve...)
    vllm          in-process offline batch generation with vllm.LLM (GPU; the `gpu` extra)
    dataset       existing responses from a local JSONL/Parquet file or a Hugging Face dataset
"""

from __future__ import annotations

import importlib

from .base import Backend, GenRequest, GenResult, Sampling

_REGISTRY = {
    "synthetic": "mixdistill.backends.synthetic:SyntheticBackend",
    "transformers": "mixdistill.backends.hf:TransformersBackend",
    "openai": "mixdistill.backends.openai:OpenAIBackend",
    "vllm": "mixdistill.backends.vllm:VLLMBackend",
    "dataset": "mixdistill.backends.dataset:DatasetBackend",
}
NAMES = tuple(_REGISTRY)


def get_backend(name: str) -> type[Backend]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(NAMES)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["Backend", "GenRequest", "GenResult", "Sampling", "get_backend", "NAMES"]
