"""The learnability-gap statistics of the paper. Pure.

Scores are accuracies in percent; an "average" is the plain mean of per-benchmark
accuracies. Delta_Long = P_Long - P_Short and Delta_Large = P_Large - P_Small.
Each mix's gain is measured against the better of its two sources.

Alongside each difference we give a 95% noise band from binomial sampling error
(each benchmark a proportion over its n problems), so a small run never passes
noise off as a finding.

>>> average([56.2, 37.5, 80.0, 24.4, 3.3])
40.28
"""

from __future__ import annotations

import math


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


def student_gap(evals: dict[str, dict]) -> dict:
    """Gap statistics from one student's eval metrics keyed by recipe (long, short, ...; base optional)."""
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
    for mix_name, hard, easy in (("mix_long", "long", "short"), ("mix_large", "large", "small")):
        if mix_name in P and hard in P and easy in P:
            best = hard if P[hard] >= P[easy] else easy
            out[f"p_{mix_name}"] = P[mix_name]
            out[f"{mix_name}_gain"] = delta(P[mix_name], P[best])
            out[f"{mix_name}_gain_noise95"] = noise95(evals[mix_name], evals[best])
            out[f"{mix_name}_gain_beyond_noise"] = abs(out[f"{mix_name}_gain"]) > out[f"{mix_name}_gain_noise95"]
    return out


def gap_table(evals_by_student: dict[str, dict[str, dict]]) -> dict[str, dict]:
    return {s: student_gap(ev) for s, ev in sorted(evals_by_student.items())}
