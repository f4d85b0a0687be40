"""Teacher generation: prompts -> backend -> graded, filtered responses with provenance."""

from __future__ import annotations

import logging
from collections import Counter

from .backends.base import UNFINISHED, Sampling
from .backends.registry import get_backend
from .cache import GenerationCache
from .config import PromptConfig, TeacherConfig
from .generate import generate_and_grade
from .grading import grader_versions
from .prompts import build_messages

log = logging.getLogger(__name__)


def make_backend(cfg: TeacherConfig):
    return get_backend(cfg.backend).from_teacher(cfg)


def teach(role: str, cfg: TeacherConfig, problems: list[dict], prompt: PromptConfig, seed: int, backend=None,
          cache_dir: str | None = None):
    """Generate (through the generation cache in `cache_dir`, if given), grade and filter.

    Returns (records, summary). Records hold every kept response; `summary` counts sampled /
    correct / kept, the teacher's accuracy and mean response length; its `run` part counts generated vs cached
    requests (it differs between identical runs, so stages log it apart from the metrics).
    """
    backend = backend or make_backend(cfg)
    sampling = Sampling(cfg.temperature, cfg.top_p, cfg.max_tokens, seed)
    cache = GenerationCache(cache_dir, backend.identity()) if cache_dir else None
    model = backend.describe().get("model")
    graded, counts = generate_and_grade(
        backend, problems, lambda p: build_messages(p["question"], prompt, cfg.system_prompt, cfg.template),
        cfg.samples_per_problem, sampling, lambda p: {"teacher": role, "teacher_model": model}, cache,
        chunk_size=cfg.batch_size * 4)
    by_problem: dict[str, list[dict]] = {}
    for r in graded:
        by_problem.setdefault(r["problem_id"], []).append(r)
    reasons = Counter(r["reason"] for r in graded)
    records = []
    for pid in sorted(by_problem):
        samples = by_problem[pid]
        per_problem = {"problem_samples": len(samples), "problem_correct": sum(s["correct"] for s in samples)}
        records += [{**r, **per_problem} for r in select(samples, cfg.filter)]
    n = len(graded)
    correct = reasons["correct"]
    kept_problems = len({r["problem_id"] for r in records})
    summary = {
        "role": role,
        "requests": n,
        "problems": len(problems),
        "correct": correct,
        "accuracy": round(100.0 * correct / n, 2) if n else 0.0,
        "kept_responses": len(records),
        "kept_problems": kept_problems,
        "truncated": sum(1 for r in graded if r["finish_reason"] in UNFINISHED),
        "reasons": dict(sorted(reasons.items())),
        "mean_response_words": round(sum(len(r["response"].split()) for r in records) / max(len(records), 1), 1),
        "provenance": {**backend.describe(), "sampling": sampling.__dict__, "filter": cfg.filter},
        "grader": grader_versions(),  # rejection filtering graded with these: an upgrade can change what is kept
        "run": counts,  # how this run got its responses (generated vs cached): a run log, not a result
    }
    log.info("teacher %s: %d/%d correct (%.1f%%), kept %d responses for %d problems",
             role, correct, n, summary["accuracy"], len(records), kept_problems)
    return records, summary


def select(samples: list[dict], policy: str) -> list[dict]:
    """Rejection filtering of one problem's samples: first_correct, all_correct or keep_all.

    Unfinished responses (truncated at max tokens, or stopped in a loop) are dropped by every policy but keep_all;
    empty ones (a dataset teacher without a row for the problem) by every policy.
    """
    if policy == "keep_all":
        return [s for s in samples if s["response"].strip()]
    good = [s for s in samples if s["correct"] and s["finish_reason"] not in UNFINISHED]
    return good[:1] if policy == "first_correct" else good
