"""Benchmark evaluation: generation through a backend (greedy by default), math-verify grading,
per-benchmark accuracy (percent) and their plain mean; with several samples per problem, pass@k."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict

from .backends.base import Sampling
from .backends.registry import get_backend
from .config import EvalConfig, PromptConfig
from .generate import generate_and_grade
from .grading import grader_versions
from .prompts import build_messages

log = logging.getLogger(__name__)


def evaluate(backend, benchmarks: list[dict], cfg: EvalConfig, prompt: PromptConfig, seed: int = 0):
    """Returns (predictions, metrics): cfg.samples responses per problem (greedy unless cfg.temperature > 0)."""
    predictions, _ = generate_and_grade(
        backend, benchmarks, lambda p: build_messages(p["question"], prompt), cfg.samples,
        Sampling(cfg.temperature, cfg.top_p, cfg.max_new_tokens, seed), lambda p: {"benchmark": p["benchmark"]})
    return predictions, {**summarise(predictions), "grader": grader_versions()}  # an upgrade can change grades


def make_backend(cfg: EvalConfig, base: str, model: str):
    """The evaluation backend, from the registry, for `model`: a base folder, a full model, or a LoRA adapter over
    `base` (each backend loads adapters its own way; see its for_eval)."""
    return get_backend(cfg.backend).for_eval(cfg, base, model)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k).

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4), pass_at_k(4, 0, 2), round(pass_at_k(4, 2, 2), 4)
    (0.25, 1.0, 0.0, 0.8333)
    """
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def summarise(predictions: list[dict]) -> dict:
    """Per-benchmark accuracy in percent (mean over all samples), the plain mean over benchmarks, counts and
    lengths; with several samples per problem also pass@k for k = 1, 2, 4, ... up to the sample count.

    >>> summarise([{"benchmark": "a", "problem_id": "a1", "correct": True, "reason": "correct", "response_tokens": 4},
    ...            {"benchmark": "b", "problem_id": "b1", "correct": False, "reason": "mismatch", "response_tokens": 6}])["accuracy"]
    {'a': 100.0, 'b': 0.0, 'average': 50.0}
    >>> m = summarise([{"benchmark": "a", "problem_id": "a1", "correct": c, "reason": "x"} for c in (True, False, False)])
    >>> m["accuracy"]["a"], m["samples"], m["pass_at"]["2"]["a"], sorted(m["pass_at"])
    (33.33, 3, 66.67, ['1', '2', '3'])
    """
    by_bench: dict[str, list[dict]] = defaultdict(list)
    for p in predictions:
        by_bench[p["benchmark"]].append(p)
    acc = {b: round(100.0 * sum(p["correct"] for p in ps) / len(ps), 2) for b, ps in sorted(by_bench.items())}
    average = round(sum(acc.values()) / len(acc), 2) if acc else 0.0
    reasons = Counter(p["reason"] for p in predictions)
    tokens = [p["response_tokens"] for p in predictions if p.get("response_tokens") is not None]
    n = len(predictions) or 1
    per_problem: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for p in predictions:
        per_problem[p["benchmark"]][p["problem_id"]].append(bool(p["correct"]))
    samples = min((len(v) for b in per_problem.values() for v in b.values()), default=1)
    extra = {}
    if samples > 1:
        ks = sorted({2 ** i for i in range(samples.bit_length()) if 2 ** i <= samples} | {samples})
        extra["samples"] = samples
        extra["pass_at"] = {}
        for k in ks:
            at = {b: round(100.0 * sum(pass_at_k(len(v), sum(v), k) for v in probs.values()) / len(probs), 2)
                  for b, probs in sorted(per_problem.items())}
            extra["pass_at"][str(k)] = {**at, "average": round(sum(at.values()) / len(at), 2)}
    return {
        "accuracy": {**acc, "average": average},
        **extra,
        "n": {b: len(ps) for b, ps in sorted(by_bench.items())},
        "response_tokens_mean": round(sum(tokens) / len(tokens), 1) if tokens else None,
        "truncated_pct": round(100.0 * reasons["truncated"] / n, 2),
        "no_answer_pct": round(100.0 * reasons["no_answer"] / n, 2),
        "reasons": dict(sorted(reasons.items())),
    }
