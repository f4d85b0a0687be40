"""Mix Distillation: per-problem selection between a hard and an easy teacher. Pure.

As in the paper's released data, both sides of a pair and their mix cover the same
problems: those for which both teachers have a kept (correct) response. A mix with
weight w takes round(w * N) problems' responses from the hard teacher and the rest
from the easy one; each problem appears once.

>>> hard = [{"problem_id": str(i), "question": "q", "response": "H"} for i in range(10)]
>>> easy = [{"problem_id": str(i), "question": "q", "response": "E"} for i in range(10)]
>>> recs, man = mix(hard, easy, 0.2, seed=0, names=("long", "short"))
>>> man["from_hard"], man["from_easy"], len({r["problem_id"] for r in recs})
(2, 8, 10)
"""

from __future__ import annotations

import random


class EmptyTeacherError(ValueError):
    pass


def first_per_problem(records: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in records:
        if r.get("correct", True):
            out.setdefault(r["problem_id"], r)
    return out


def mix(hard: list[dict], easy: list[dict], weight: float, seed: int, names: tuple[str, str]) -> tuple[list[dict], dict]:
    """Records of the mixed set (sorted by problem_id) and a manifest of exact counts."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"mix weight must be within [0, 1], got {weight}")
    h, e = first_per_problem(hard), first_per_problem(easy)
    for name, kept, raw in ((names[0], h, hard), (names[1], e, easy)):
        if not kept:
            raise EmptyTeacherError(
                f"teacher {name!r} has no correct response among its {len(raw)} records; "
                f"check its backend and prompt (metrics/teachers/{name}.json lists why)"
            )
    common = sorted(set(h) & set(e))
    if not common:
        raise EmptyTeacherError(f"teachers {names[0]!r} and {names[1]!r} have no correctly answered problem in common")
    n_hard = round(weight * len(common))
    rng = random.Random(seed)
    chosen = set(rng.sample(common, n_hard))
    records = []
    for pid in common:
        src, teacher = (h, names[0]) if pid in chosen else (e, names[1])
        r = src[pid]
        records.append({"problem_id": pid, "question": r["question"], "response": r["response"], "teacher": teacher})
    manifest = {
        "weight": weight,
        "seed": seed,
        "hard_teacher": names[0],
        "easy_teacher": names[1],
        "examples": len(records),
        "from_hard": n_hard,
        "from_easy": len(records) - n_hard,
        "hard_problems_correct": len(h),
        "easy_problems_correct": len(e),
        "dropped_not_common": len(set(h) ^ set(e)),
    }
    return records, manifest
