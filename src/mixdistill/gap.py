"""The learnability-gap statistics of the paper. Pure.

Scores are accuracies in percent; an "average" is the plain mean of per-benchmark
accuracies. Delta_Long = P_Long - P_Short and Delta_Large = P_Large - P_Small.
Each mix's gain is measured against the better of its two sources.

Alongside each difference we give a 95% noise band from binomial sampling error
(each benchmark a proportion over its n problems), so a small run never passes
noise off as a finding. Every recipe is graded on the same problems, so each
difference is also tested as a paired comparison: a bootstrap over problems,
stratified by benchmark (the statistic stays the plain mean over benchmarks),
gives a 95% interval, and an exact McNemar test on the discordant pairs a p-value.

>>> average([56.2, 37.5, 80.0, 24.4, 3.3])
40.28
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

STATISTICS = ("delta_long", "delta_large", "mix_long_gain", "mix_large_gain")
Z80 = 1.959964 + 0.841621  # two-sided 5% test, 80% power
RESAMPLES = 10_000  # bootstrap resamples: the CI's bounds move by well under 0.1 points between seeds


def average(accuracies: list[float]) -> float:
    return round(sum(accuracies) / len(accuracies), 2)


def delta(a: float, b: float) -> float:
    return round(a - b, 2)


def _var_of_average(acc: dict[str, float], n: dict[str, int]) -> float:
    """Variance (in percent^2) of the plain mean of per-benchmark proportions."""
    names = [b for b in acc if b != "average"]
    if not names:
        return 0.0
    total = 0.0
    for b in names:
        p = acc[b] / 100.0
        total += p * (1 - p) / max(n.get(b, 1), 1)
    return total * 1e4 / len(names) ** 2


def noise95(m1: dict, m2: dict) -> float:
    """Half-width of a 95% band for the difference of two runs' averages (independent errors)."""
    v = _var_of_average(m1["accuracy"], m1["n"]) + _var_of_average(m2["accuracy"], m2["n"])
    return round(1.96 * math.sqrt(v), 2)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: a right and b wrong, and the reverse.

    >>> mcnemar_exact(5, 1), mcnemar_exact(0, 0), mcnemar_exact(3, 3), round(mcnemar_exact(10, 0), 5)
    (0.21875, 1.0, 1.0, 0.00195)
    """
    n, k = a_only + b_only, min(a_only, b_only)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def _by_problem(predictions: list[dict]) -> dict[str, dict[str, list[bool]]]:
    """benchmark -> problem_id -> correctness of each sample, in sample order."""
    out: dict[str, dict[str, list[bool]]] = defaultdict(dict)
    for p in sorted(predictions, key=lambda p: (p["benchmark"], p["problem_id"], p.get("sample", 0))):
        out[p["benchmark"]].setdefault(p["problem_id"], []).append(bool(p["correct"]))
    return out


def paired(a: list[dict], b: list[dict], seed: int, resamples: int = RESAMPLES) -> dict:
    """Paired comparison of two recipes' predictions on the same problems (a minus b, in points).

    ci95: percentile interval of a bootstrap that resamples problems with replacement within each benchmark and
    takes the plain mean over benchmarks of the per-benchmark accuracy difference (problems are the unit: with
    several samples, a problem's samples move together). p_mcnemar: exact McNemar over (problem, sample) pairs.
    mde80: the smallest true difference (points) that these problems detect with 80% power in a two-sided 5% test,
    from the observed per-problem differences: (z_0.975 + z_0.8) * SE of the paired mean over benchmarks.
    """
    A, B = _by_problem(a), _by_problem(b)
    if set(A) != set(B) or any(set(A[bm]) != set(B[bm]) for bm in A):
        raise ValueError("paired statistics need both recipes graded on the same problems")
    rng = np.random.default_rng(seed)
    means = np.zeros(resamples)
    a_only = b_only = 0
    var = 0.0
    for bm in sorted(A):
        ids = sorted(A[bm])
        d = np.array([np.mean(A[bm][i]) - np.mean(B[bm][i]) for i in ids])
        means += d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
        var += d.var(ddof=1) / len(d) if len(d) > 1 else 0.0
        for i in ids:
            for x, y in zip(A[bm][i], B[bm][i]):
                a_only += x and not y
                b_only += y and not x
    stat = 100.0 * means / len(A)
    lo, hi = np.percentile(stat, [2.5, 97.5])
    return {"ci95": [round(float(lo), 2), round(float(hi), 2)], "p_mcnemar": round(mcnemar_exact(a_only, b_only), 4),
            "discordant": [a_only, b_only], "mde80": round(100.0 * Z80 * math.sqrt(var) / len(A), 2)}


def _add_paired(out: dict, name: str, predictions: dict[str, list[dict]] | None, a: str, b: str, seed: int) -> None:
    if predictions and a in predictions and b in predictions:
        t = paired(predictions[a], predictions[b], seed)
        out[f"{name}_ci95_low"], out[f"{name}_ci95_high"] = t["ci95"]
        out[f"{name}_p_mcnemar"] = t["p_mcnemar"]
        out[f"{name}_mde80"] = t["mde80"]


def student_gap(evals: dict[str, dict], predictions: dict[str, list[dict]] | None = None, seed: int = 0) -> dict:
    """Gap statistics from one student's eval metrics keyed by recipe (long, short, ...; base optional); with the
    recipes' predictions, each difference also gets its paired bootstrap CI and McNemar p-value."""
    P = {r: m["accuracy"]["average"] for r, m in evals.items()}
    out: dict[str, float | bool] = {}
    if "base" in P:
        out["p_base"] = P["base"]
    for hard, easy, dname in (("long", "short", "delta_long"), ("large", "small", "delta_large")):
        if hard in P and easy in P:
            out[f"p_{hard}"], out[f"p_{easy}"] = P[hard], P[easy]
            out[dname] = delta(P[hard], P[easy])
            out[f"{dname}_noise95"] = noise95(evals[hard], evals[easy])
            out[f"{dname}_beyond_noise"] = abs(out[dname]) > out[f"{dname}_noise95"]
            _add_paired(out, dname, predictions, hard, easy, seed)
    for mix_name, hard, easy in (("mix_long", "long", "short"), ("mix_large", "large", "small")):
        if mix_name in P and hard in P and easy in P:
            best = hard if P[hard] >= P[easy] else easy
            out[f"p_{mix_name}"] = P[mix_name]
            out[f"{mix_name}_gain"] = delta(P[mix_name], P[best])
            out[f"{mix_name}_gain_noise95"] = noise95(evals[mix_name], evals[best])
            out[f"{mix_name}_gain_beyond_noise"] = abs(out[f"{mix_name}_gain"]) > out[f"{mix_name}_gain_noise95"]
            _add_paired(out, f"{mix_name}_gain", predictions, mix_name, best, seed)
    return out


def gap_table(evals_by_student: dict[str, dict[str, dict]],
              predictions_by_student: dict[str, dict[str, list[dict]]] | None = None, seed: int = 0) -> dict[str, dict]:
    preds = predictions_by_student or {}
    return {s: student_gap(ev, preds.get(s), seed) for s, ev in sorted(evals_by_student.items())}
