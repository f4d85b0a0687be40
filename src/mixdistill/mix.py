"""Mix Distillation: per-problem selection between a hard and an easy teacher. Pure.

As in the paper's released data, both sides of a pair and their mix cover the same
problems: those for which both teachers have a kept (correct) response. A mix with
weight w takes round(w * N) problems' responses from the hard teacher and the rest
from the easy one; each problem appears once. With unit "tokens", w is instead the
hard teacher's share of the mix's response tokens (the teachers' own counts), as close
as whole examples allow.

Every example records where it came from: its teacher role and model, its problem id
and its response's token count; the manifest totals examples and tokens per source.

>>> hard = [{"problem_id": str(i), "question": "q", "response": "H"} for i in range(10)]
>>> easy = [{"problem_id": str(i), "question": "q", "response": "E"} for i in range(10)]
>>> recs, man = mix(hard, easy, 0.2, seed=0, names=("long", "short"))
>>> man["from_hard"], man["from_easy"], len({r["problem_id"] for r in recs})
(2, 8, 10)
"""

from __future__ import annotations

import random

from .io import text_key
from .errors import EmptyTeacherError


def first_per_problem(records: list[dict]) -> dict[str, dict]:
    """The first kept response of each problem. Which responses are kept is the teacher's filter policy
    (first_correct by default; keep_all keeps a released set's responses as published); empty ones never count."""
    out: dict[str, dict] = {}
    for r in records:
        if str(r.get("response", "")).strip():
            out.setdefault(r["problem_id"], r)
    return out


def released(rows: list[tuple[str, str]], problems: list[dict], hard: list[dict], easy: list[dict],
             names: tuple[str, str]) -> tuple[list[dict], dict]:
    """A published mixed set used as is: (question, response) rows matched to our problems by question text.

    Each row is attributed to the pair's hard or easy teacher when its response equals that teacher's response
    for the problem, so the manifest shows the weight the published set really has.

    >>> probs = [{"problem_id": "p1", "question": "1+1?"}, {"problem_id": "p2", "question": "2+2?"}]
    >>> hard = [{"problem_id": "p1", "response": "long 2"}, {"problem_id": "p2", "response": "long 4"}]
    >>> easy = [{"problem_id": "p1", "response": "2"}, {"problem_id": "p2", "response": "4"}]
    >>> recs, man = released([("1+1?", "long 2"), (" 2+2? ", "4"), ("3+3?", "6")], probs, hard, easy, ("long", "short"))
    >>> [(r["problem_id"], r["teacher"]) for r in recs], man["from_hard"], man["from_easy"], man["unmatched_rows"]
    ([('p1', 'long'), ('p2', 'short')], 1, 1, 1)
    """
    by_question = {}
    for p in problems:
        by_question.setdefault(text_key(p["question"]), p)
    responses = {names[0]: first_per_problem(hard), names[1]: first_per_problem(easy)}
    records: dict[str, dict] = {}
    unmatched = duplicates = 0
    for question, response in rows:
        p = by_question.get(text_key(question))
        if p is None:
            unmatched += 1
            continue
        pid = p["problem_id"]
        if pid in records:
            duplicates += 1
            continue
        teacher = next((name for name, recs in responses.items()
                        if pid in recs and text_key(recs[pid]["response"]) == text_key(response)), "released")
        matched = responses[teacher][pid] if teacher in responses else {}
        records[pid] = _example(pid, p["question"], response, teacher, matched)
    out = [records[k] for k in sorted(records)]
    if not out:
        raise EmptyTeacherError(f"none of the {len(rows)} released rows matches a training problem by question text; "
                                "check problems.train and the set's question column")
    n_hard = sum(r["teacher"] == names[0] for r in out)
    n_easy = sum(r["teacher"] == names[1] for r in out)
    manifest = {
        "hard_teacher": names[0],
        "easy_teacher": names[1],
        "examples": len(out),
        "from_hard": n_hard,
        "from_easy": n_easy,
        "from_neither": len(out) - n_hard - n_easy,
        "observed_weight": round(n_hard / (n_hard + n_easy), 4) if n_hard + n_easy else None,
        "released_rows": len(rows),
        "unmatched_rows": unmatched,
        "duplicate_rows": duplicates,
        **totals(out, (*names, "released")),
    }
    return out, manifest


def _example(pid: str, question: str, response: str, teacher: str, source: dict) -> dict:
    """One training example and its provenance (`source`: the teacher record it was taken from, if any)."""
    return {"problem_id": pid, "question": question, "response": response, "teacher": teacher,
            "teacher_model": source.get("teacher_model"), "response_tokens": source.get("response_tokens")}


def totals(records: list[dict], names: tuple[str, ...]) -> dict:
    """Examples and response tokens per source; tokens are None where a source's records carry no count.

    >>> totals([{"teacher": "long", "response_tokens": 30}, {"teacher": "short", "response_tokens": 10},
    ...         {"teacher": "short", "response_tokens": 5}], ("long", "short"))
    {'by_source': {'long': {'examples': 1, 'tokens': 30}, 'short': {'examples': 2, 'tokens': 15}}, 'tokens': 45}
    """
    by = {}
    for name in names:
        rs = [r for r in records if r["teacher"] == name]
        if rs or name != "released":
            counts = [r.get("response_tokens") for r in rs]
            by[name] = {"examples": len(rs), "tokens": None if None in counts else sum(counts)}
    tokens = [t["tokens"] for t in by.values()]
    return {"by_source": by, "tokens": None if None in tokens else sum(tokens)}


def _token_split(order: list[str], h: dict, e: dict, weight: float) -> int:
    """How many problems, taken in `order`, go to the hard teacher so that its share of the response tokens is
    closest to `weight`. The share grows with every problem moved to the hard side, so the best count is exact
    to one example.

    >>> h = {p: {"response_tokens": 30} for p in "abcd"}; e = {p: {"response_tokens": 10} for p in "abcd"}
    >>> _token_split(list("abcd"), h, e, 0.5), _token_split(list("abcd"), h, e, 0.0), _token_split(list("abcd"), h, e, 1.0)
    (1, 0, 4)
    """
    hard_tokens, easy_tokens = 0, sum(e[p]["response_tokens"] for p in order)
    best, best_err = 0, abs(0.0 - weight) if easy_tokens else abs(1.0 - weight)
    for k, pid in enumerate(order, 1):
        hard_tokens += h[pid]["response_tokens"]
        easy_tokens -= e[pid]["response_tokens"]
        share = hard_tokens / (hard_tokens + easy_tokens) if hard_tokens + easy_tokens else 0.0
        if abs(share - weight) < best_err:
            best, best_err = k, abs(share - weight)
    return best


def mix(hard: list[dict], easy: list[dict], weight: float, seed: int, names: tuple[str, str],
        unit: str = "examples") -> tuple[list[dict], dict]:
    """Records of the mixed set (sorted by problem_id) and a manifest of exact counts. `weight` is the hard
    teacher's fraction of the examples (unit "examples", the paper's) or of the response tokens ("tokens")."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"mix weight must be within [0, 1], got {weight}")
    if unit not in ("examples", "tokens"):
        raise ValueError(f"mix unit must be 'examples' or 'tokens', got {unit!r}")
    h, e = first_per_problem(hard), first_per_problem(easy)
    for name, kept, raw in ((names[0], h, hard), (names[1], e, easy)):
        if not kept:
            raise EmptyTeacherError(
                f"teacher {name!r} has no kept response among its {len(raw)} records; "
                f"check its backend and prompt (metrics/teachers/{name}.json lists why)"
            )
    common = sorted(set(h) & set(e))
    if not common:
        raise EmptyTeacherError(f"teachers {names[0]!r} and {names[1]!r} have no kept problem in common")
    rng = random.Random(seed)
    if unit == "examples":
        chosen = set(rng.sample(common, round(weight * len(common))))
    else:
        for name, kept in ((names[0], h), (names[1], e)):
            missing = [pid for pid in common if not isinstance(kept[pid].get("response_tokens"), int)]
            if missing:
                raise EmptyTeacherError(f"mix.unit is tokens but teacher {name!r} records no response_tokens for "
                                        f"{len(missing)} problems (e.g. {missing[0]}); use mix.unit: examples")
        order = rng.sample(common, len(common))
        chosen = set(order[:_token_split(order, h, e, weight)])
    n_hard = len(chosen)
    records = []
    for pid in common:
        src, teacher = (h, names[0]) if pid in chosen else (e, names[1])
        r = src[pid]
        records.append(_example(pid, r["question"], r["response"], teacher, r))
    sums = totals(records, names)
    hard_tokens = sums["by_source"][names[0]]["tokens"]
    manifest = {
        "weight": weight,
        "unit": unit,
        "seed": seed,
        "hard_teacher": names[0],
        "easy_teacher": names[1],
        "examples": len(records),
        "from_hard": n_hard,
        "from_easy": len(records) - n_hard,
        "hard_problems_kept": len(h),
        "easy_problems_kept": len(e),
        "dropped_not_common": len(set(h) ^ set(e)),
        **sums,
        "token_weight": round(hard_tokens / sums["tokens"], 4) if sums["tokens"] else None,
    }
    return records, manifest
