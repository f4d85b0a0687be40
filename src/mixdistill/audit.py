r"""Grader audit: every prediction graded four ways, whether the study's conclusions survive the change, and
controls that show each grader can tell a right answer from junk.

- `math_verify`: the pipeline's grade (the answer extracted from the response, compared by math-verify);
- `math_verify_own`: math-verify's own extraction from the whole response (`parse` with `LatexExtractionConfig` and
  `ExprExtractionConfig`, as open-r1 and lighteval call it), compared by math-verify;
- `strict_boxed`: the last \boxed{} of the response equals the gold answer as a string (whitespace and
  surrounding `$` ignored), as a plain string-matching evaluation harness would grade it;
- `checker`: the benchmark's own checker where it has one (reasoning-gym's `score_answer` on the extracted
  answer, correct at a full score); problems from files or the hub have none.

Controls, per benchmark: each gold answer fed as a prediction (`\boxed{gold}`) must be correct under every grader,
and junk (an "I don't know", an empty response, the question repeated back) must be wrong under every grader.

>>> strict_boxed(r"so \boxed{ 42 }", "42"), strict_boxed(r"so \boxed{42.0}", "42"), strict_boxed("Final Answer: 42", "42")
(True, False, False)
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from .gap import STATISTICS, average, student_gap
from .grading import as_boxed, grade, last_boxed

GRADERS = ("math_verify", "math_verify_own", "strict_boxed", "checker")
JUNK = ("I don't know.", "")  # and the question itself, repeated back
EXAMPLES = 5  # disagreements kept per recipe and grader, for a reader to look at


def _norm(s: str) -> str:
    return "".join(s.split()).strip("$")


def strict_boxed(response: str, gold: str) -> bool:
    got = last_boxed(response or "")
    want = last_boxed(gold) if "\\boxed" in gold else gold
    return got is not None and want is not None and _norm(got) == _norm(want)


def math_verify_own(response: str, gold: str) -> bool:
    """math-verify reading the whole response itself (no extraction of ours), against the boxed gold answer."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    pred = parse(response or "", extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()])
    return bool(pred) and bool(verify(parse(as_boxed(gold)), pred))


@cache
def _score_fn(task: str):
    import reasoning_gym

    return reasoning_gym.get_score_answer_fn(task)


def checker(prediction: dict, problem: dict) -> bool | None:
    """The benchmark's own verdict on the extracted answer, or None where the benchmark has no checker."""
    if not str(problem.get("source", "")).startswith("reasoning_gym:"):
        return None
    entry = {"question": problem["question"], "answer": problem["answer"], "metadata": problem.get("metadata", {})}
    return _score_fn(problem["task"])(prediction.get("extracted"), entry) >= 1.0


def _verdicts(response: str, correct: bool, extracted: str | None, problem: dict) -> dict:
    gold = str(problem["answer"])
    return {"math_verify": bool(correct), "math_verify_own": math_verify_own(response, gold),
            "strict_boxed": strict_boxed(response, gold), "checker": checker({"extracted": extracted}, problem)}


def regrade(predictions: list[dict], problems: dict[str, dict]) -> list[dict]:
    """Each prediction's verdict under every grader (None: that grader does not apply)."""
    return [_verdicts(p.get("response") or "", p["correct"], p.get("extracted"), problems[p["problem_id"]])
            for p in predictions]


def controls(problems: list[dict], graders: list[str]) -> dict:
    """benchmark -> {"gold": {grader: % correct}, "junk": {grader: % correct}, "n": problems}: gold answers as
    predictions should score 100 under every grader, junk 0."""
    out: dict[str, dict] = {}
    for bench in sorted({p["benchmark"] for p in problems}):
        rows = [p for p in problems if p["benchmark"] == bench]
        scored = {}
        for kind, responses in (("gold", lambda p: [as_boxed(str(p["answer"]))]),
                                ("junk", lambda p: [*JUNK, str(p["question"])])):
            vs = []
            for p in rows:
                numeric = p.get("grading") == "numeric"
                for r in responses(p):
                    g = grade(r, str(p["answer"]), numeric_fallback=numeric)  # extracts, as for a prediction
                    vs.append(_verdicts(r, g.correct, g.extracted, p))
            scored[kind] = {g: None if any(v[g] is None for v in vs) else round(100.0 * sum(v[g] for v in vs) / len(vs), 2)
                            for g in graders}  # None: the grader does not apply (no checker)
        out[bench] = {**scored, "n": len(rows)}
    return out


def failed_controls(ctrl: dict) -> list[str]:
    """One line per control that failed: gold answers not all correct, or junk not all wrong, under a grader."""
    return [f"{b}: {kind} answers score {pct}% under {g} (expected {want}%)"
            for b, c in ctrl.items() for kind, want in (("gold", 100.0), ("junk", 0.0))
            for g, pct in c[kind].items() if pct is not None and pct != want]


def _as_eval(predictions: list[dict], verdicts: list[dict], grader: str) -> dict:
    by_bench: dict[str, list[bool]] = defaultdict(list)
    for p, v in zip(predictions, verdicts):
        by_bench[p["benchmark"]].append(v[grader])
    acc = {b: round(100.0 * sum(v) / len(v), 2) for b, v in sorted(by_bench.items())}
    return {"accuracy": {**acc, "average": average(list(acc.values()))}, "n": {b: len(v) for b, v in by_bench.items()}}


def audit_student(predictions: dict[str, list[dict]], problems: dict[str, dict]) -> dict:
    """recipe -> accuracy under each grader and its disagreements with math-verify; each gap statistic under each
    grader, and whether its sign is the same under all of them."""
    verdicts = {r: regrade(ps, problems) for r, ps in predictions.items()}
    graders = [g for g in GRADERS if all(v[g] is not None for vs in verdicts.values() for v in vs)]
    evals = {g: {r: _as_eval(ps, verdicts[r], g) for r, ps in predictions.items()} for g in graders}
    recipes, disagree, total = {}, dict.fromkeys(graders[1:], 0), 0
    for r, ps in sorted(predictions.items()):
        row = {"accuracy": {g: evals[g][r]["accuracy"]["average"] for g in graders}, "disagree": {}}
        for g in graders[1:]:
            differ = [(p, v) for p, v in zip(ps, verdicts[r]) if v[g] != v["math_verify"]]
            disagree[g] += len(differ)
            row["disagree"][g] = {
                "math_verify_only": sum(v["math_verify"] for _, v in differ),
                f"{g}_only": sum(v[g] for _, v in differ),
                "examples": [{"problem_id": p["problem_id"], "gold": str(p["answer"]), "extracted": p.get("extracted"),
                              "boxed": last_boxed(p.get("response") or ""), "math_verify": v["math_verify"]}
                             for p, v in differ[:EXAMPLES]],
            }
        recipes[r] = row
        total += len(ps)
    stats = {g: student_gap(evals[g]) for g in graders}
    deltas = {s: {g: stats[g][s] for g in graders} for s in STATISTICS if s in stats["math_verify"]}
    survives = {s: len({(d > 0) - (d < 0) for d in by.values()}) == 1 for s, by in deltas.items()}
    asked = {p["problem_id"] for ps in predictions.values() for p in ps}
    ctrl = controls([problems[i] for i in sorted(asked)], graders)
    return {"graders": graders, "predictions": total, "recipes": recipes, "statistics": deltas,
            "same_sign_under_every_grader": survives,
            "controls": ctrl, "controls_failed": failed_controls(ctrl),
            "disagree_pct": {g: round(100.0 * n / max(total, 1), 2) for g, n in disagree.items()}}


def gap_columns(audit: dict) -> dict:
    """The audit's few numbers that go into metrics/gap.json beside the statistics (the rest is in audit.json)."""
    out = {}
    for s, by in audit["statistics"].items():
        for g, d in by.items():
            if g != "math_verify":
                out[f"{s}_{g}"] = d
    for g, pct in audit["disagree_pct"].items():
        out[f"grader_disagree_pct_{g}"] = pct
    return out
