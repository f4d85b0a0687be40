"""Backends by name; each module (and its heavy library) is imported only when chosen.

Kept apart from `backends/__init__.py` so that code needing only the request/result types
(`backends.base`) does not depend on every backend module.
"""

from __future__ import annotations

import importlib

from .base import Backend

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
