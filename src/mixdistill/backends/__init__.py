"""Generation backends; `backends.registry.get_backend(name)` imports the chosen one only.

    synthetic     offline worked solutions in a configurable style (no model)
    transformers  in-process batched generation with a Hugging Face model
    openai        any OpenAI-compatible HTTP server (vLLM serve, SGLang, TGI, transformers serve...)
    vllm          in-process offline batch generation with vllm.LLM (GPU; the `gpu` extra)
    dataset       existing responses from a local JSONL/Parquet file or a Hugging Face dataset

This package file imports only the shared types, so importing them does not make a stage
depend on every backend (dvc.yaml lists the files each stage runs).
"""

from .base import Backend, GenRequest, GenResult, Sampling

__all__ = ["Backend", "GenRequest", "GenResult", "Sampling"]
