"""The one generate-and-grade path: teachers and evaluation both turn problems into chat requests, generate
through a backend (and, for teachers, the generation cache) and grade every response with math-verify."""

from __future__ import annotations

from typing import Callable

from .backends.base import GenRequest, Sampling
from .cache import GenerationCache, cached_generate
from .grading import grade


def generate_and_grade(backend, problems: list[dict], messages: Callable[[dict], tuple], samples: int,
                       sampling: Sampling, label: Callable[[dict], dict], cache: GenerationCache | None = None,
                       chunk_size: int = 64) -> tuple[list[dict], dict]:
    """(records, counts): one graded record per problem and sample, in problem order.

    `messages(problem)` builds the chat; `label(problem)` adds the caller's fields (teacher, benchmark) after
    problem_id. `counts` says how many responses were generated and how many came from the cache.
    """
    requests = [GenRequest(f"{p['problem_id']}#{s}", messages(p), s, p) for p in problems for s in range(samples)]
    results, counts = cached_generate(backend, requests, sampling, cache, chunk_size)
    records = []
    for req, res in zip(requests, results):
        p = req.problem
        g = grade(res.text, p["answer"], truncated=res.unfinished, numeric_fallback=p.get("grading") == "numeric")
        records.append({
            "problem_id": p["problem_id"],
            **label(p),
            "question": p["question"],
            "answer": p["answer"],
            "sample": req.sample,
            "response": res.text,
            "response_tokens": res.tokens,
            "finish_reason": res.finish_reason,
            "extracted": g.extracted,
            "correct": g.correct,
            "reason": g.reason,
            **({"reasoning": res.reasoning} if res.reasoning is not None else {}),  # a reasoning model's thinking
        })
    return records, counts
