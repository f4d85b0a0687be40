"""Benchmark evaluation: greedy generation through a backend, math-verify grading,
per-benchmark accuracy (percent) and their plain mean."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from .backends import GenRequest, Sampling
from .config import EvalConfig, PromptConfig
from .grading import grade
from .teachers import build_messages

log = logging.getLogger(__name__)


def evaluate(backend, benchmarks: list[dict], cfg: EvalConfig, prompt: PromptConfig, seed: int = 0):
    """Returns (predictions, metrics). Greedy decoding, max_new_tokens from cfg."""
    requests = [GenRequest(p["problem_id"], build_messages(p["question"], prompt), 0, p) for p in benchmarks]
    results = backend.generate(requests, Sampling(0.0, 1.0, cfg.max_new_tokens, seed))
    predictions = []
    for p, res in zip(benchmarks, results):
        g = grade(res.text, p["answer"], truncated=res.unfinished,
                  numeric_fallback=p.get("grading") == "numeric")
        predictions.append(
            {
                "problem_id": p["problem_id"],
                "benchmark": p["benchmark"],
                "question": p["question"],
                "answer": p["answer"],
                "response": res.text,
                "response_tokens": res.tokens,
                "finish_reason": res.finish_reason,
                "extracted": g.extracted,
                "correct": g.correct,
                "reason": g.reason,
            }
        )
    return predictions, summarise(predictions)


def make_backend(cfg: EvalConfig, base: str, model: str, work: str = ".cache/merged"):
    """The generation backend for evaluating `model` (a base folder, a full model, or a LoRA adapter over `base`).

    transformers merges an adapter in memory; vLLM needs a full model, so an adapter is merged once into
    `work`/<hash>/ (outside DVC outputs) and loaded from there.
    """
    from pathlib import Path

    from .backends.hf import TransformersBackend, merge_adapter

    adapter = model if (Path(model) / "adapter_config.json").exists() else None
    if cfg.backend == "transformers":
        return TransformersBackend(base if adapter else model, adapter, cfg.batch_size)
    from .backends.vllm import VLLMBackend

    path = merge_adapter(base, adapter, work) if adapter else model
    return VLLMBackend(path, **cfg.options)


def summarise(predictions: list[dict]) -> dict:
    """Per-benchmark accuracy in percent, the plain mean over benchmarks, counts and lengths.

    >>> summarise([{"benchmark": "a", "correct": True, "reason": "correct", "response_tokens": 4},
    ...            {"benchmark": "b", "correct": False, "reason": "mismatch", "response_tokens": 6}])["accuracy"]
    {'a': 100.0, 'b': 0.0, 'average': 50.0}
    """
    by_bench: dict[str, list[dict]] = defaultdict(list)
    for p in predictions:
        by_bench[p["benchmark"]].append(p)
    acc = {b: round(100.0 * sum(p["correct"] for p in ps) / len(ps), 2) for b, ps in sorted(by_bench.items())}
    average = round(sum(acc.values()) / len(acc), 2) if acc else 0.0
    reasons = Counter(p["reason"] for p in predictions)
    tokens = [p["response_tokens"] for p in predictions if p.get("response_tokens") is not None]
    n = len(predictions) or 1
    return {
        "accuracy": {**acc, "average": average},
        "n": {b: len(ps) for b, ps in sorted(by_bench.items())},
        "response_tokens_mean": round(sum(tokens) / len(tokens), 1) if tokens else None,
        "truncated_pct": round(100.0 * reasons["truncated"] / n, 2),
        "no_answer_pct": round(100.0 * reasons["no_answer"] / n, 2),
        "reasons": dict(sorted(reasons.items())),
    }
