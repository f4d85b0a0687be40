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

from .study import RECIPES, pure
from .study import STATISTICS as _STATISTICS

STATISTICS = tuple(s.name for s in _STATISTICS)
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


def _seeds(runs: list) -> list:
    """A recipe's runs over training seeds: a single run (one list of predictions, or one metrics dict) is one seed."""
    return [runs] if isinstance(runs, dict) or (runs and isinstance(runs[0], dict) and "accuracy" not in runs[0]) else runs


def paired(a: list, b: list | None, seed: int, resamples: int = RESAMPLES) -> dict:
    """Paired comparison of two recipes' predictions on the same problems (a minus b, in points). `a` and `b` are
    each one run's predictions or a list of runs, one per training seed (the recipe's score is their mean). With `b`
    None the statistic is `a`'s own average accuracy (`accuracy_ci`).

    ci95: percentile interval of a bootstrap that resamples problems with replacement within each benchmark and
    takes the plain mean over benchmarks of the per-benchmark accuracy difference (problems are the unit: with
    several samples, a problem's samples move together); with several seeds each resample also draws each recipe's
    seeds with replacement, so the interval holds the seed-to-seed spread too. p_mcnemar: exact McNemar over
    (problem, seed, sample) pairs, seeds paired in train.seeds order. mde80: the smallest true difference (points)
    that these problems and seeds detect with 80% power in a two-sided 5% test: (z_0.975 + z_0.8) * SE, the SE from
    the per-problem differences of the seed means plus each recipe's variance over seeds.
    """
    A = [_by_problem(r) for r in _seeds(a)]
    B = [_by_problem(r) for r in _seeds(b)] if b is not None else [  # none: a recipe's own accuracy, against zero
        {bm: {i: [False] * len(v) for i, v in probs.items()} for bm, probs in run.items()} for run in A]
    benches = sorted(A[0])
    if any(sorted(x) != benches or any(set(x[bm]) != set(A[0][bm]) for bm in benches) for x in A + B):
        raise ValueError("paired statistics need both recipes graded on the same problems")
    rng, seed_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    picks = [seed_rng.integers(0, len(runs), size=(resamples, len(runs))) if len(runs) > 1 else
             np.zeros((resamples, 1), dtype=int) for runs in (A, B)]
    means = np.zeros(resamples)
    a_only = b_only = 0
    var = 0.0
    by_seed = [np.zeros(len(A)), np.zeros(len(B))]  # each seed's average over benchmarks
    for bm in benches:
        ids = sorted(A[0][bm])
        C = [np.array([[np.mean(run[bm][i]) for i in ids] for run in runs]) for runs in (A, B)]  # (seeds, problems)
        d = C[0].mean(axis=0) - C[1].mean(axis=0)
        idx = rng.integers(0, len(ids), size=(resamples, len(ids)))
        d_boot = C[0][picks[0]].mean(axis=1) - C[1][picks[1]].mean(axis=1)  # (resamples, problems): seeds redrawn
        means += np.take_along_axis(d_boot, idx, axis=1).mean(axis=1)
        var += d.var(ddof=1) / len(d) if len(d) > 1 else 0.0
        for k in (0, 1):
            by_seed[k] += C[k].mean(axis=1) / len(benches)
        for ra, rb in zip(A, B):
            for i in ids:
                for x, y in zip(ra[bm][i], rb[bm][i]):
                    a_only += x and not y
                    b_only += y and not x
    stat = 100.0 * means / len(benches)
    lo, hi = np.percentile(stat, [2.5, 97.5])
    seed_var = sum(v.var(ddof=1) / len(v) for v in by_seed if len(v) > 1)
    se = math.sqrt(var / len(benches) ** 2 + seed_var)
    return {"ci95": [round(float(lo), 2), round(float(hi), 2)], "p_mcnemar": round(mcnemar_exact(a_only, b_only), 4),
            "discordant": [a_only, b_only], "mde80": round(100.0 * Z80 * se, 2)}


def accuracy_ci(runs: list, seed: int) -> list[float]:
    """95% interval of one recipe's average accuracy (points): the same stratified bootstrap over problems (and seeds)
    as the paired differences, on the recipe alone."""
    return paired(runs, None, seed)["ci95"]


def combine(runs: list[dict] | dict) -> dict:
    """One recipe's eval metrics over its training seeds: per-benchmark accuracy averaged over seeds, the plain mean
    over benchmarks of those, and (with several seeds) each seed's average and their standard deviation.

    >>> m = combine([{"accuracy": {"a": 50.0, "b": 10.0, "average": 30.0}, "n": {"a": 4, "b": 4}},
    ...              {"accuracy": {"a": 70.0, "b": 30.0, "average": 50.0}, "n": {"a": 4, "b": 4}}])
    >>> m["accuracy"], m["seeds"], m["average_by_seed"], m["average_seed_sd"]
    ({'a': 60.0, 'b': 20.0, 'average': 40.0}, 2, [30.0, 50.0], 14.14)
    """
    runs = _seeds(runs)
    if len(runs) == 1:
        return runs[0]
    benches = [b for b in runs[0]["accuracy"] if b != "average"]
    acc = {b: round(sum(r["accuracy"][b] for r in runs) / len(runs), 2) for b in benches}
    by_seed = [r["accuracy"]["average"] for r in runs]
    tokens = [r.get("response_tokens_mean") for r in runs]
    return {"accuracy": {**acc, "average": average(list(acc.values()))}, "n": runs[0]["n"], "seeds": len(runs),
            "average_by_seed": by_seed, "average_seed_sd": round(float(np.std(by_seed, ddof=1)), 2),
            "response_tokens_mean": None if None in tokens else round(sum(tokens) / len(tokens), 1)}


def _add_paired(out: dict, name: str, predictions: dict[str, list] | None, a: str, b: str, seed: int) -> None:
    if predictions and a in predictions and b in predictions:
        t = paired(predictions[a], predictions[b], seed)
        out[f"{name}_ci95_low"], out[f"{name}_ci95_high"] = t["ci95"]
        out[f"{name}_p_mcnemar"] = t["p_mcnemar"]
        out[f"{name}_mde80"] = t["mde80"]


def student_gap(runs: dict[str, list[dict] | dict], predictions: dict[str, list] | None = None, seed: int = 0) -> dict:
    """Gap statistics from one student's eval metrics keyed by recipe (long, short, ...; base optional), each one
    run's metrics or a list over training seeds (a recipe scores the mean over its seeds); with the recipes'
    predictions (likewise per seed), each difference also gets its paired bootstrap CI, McNemar p-value and power."""
    evals = {r: combine(m) for r, m in runs.items()}
    P = {r: m["accuracy"]["average"] for r, m in evals.items()}
    out: dict[str, float | bool] = {"train_seeds": max((len(_seeds(m)) for r, m in runs.items() if r != "base"), default=1)}
    if "base" in P:
        out["p_base"] = P["base"]
    for r in sorted(predictions or {}):  # each recipe's average with its interval (the figures' error bars)
        out[f"p_{r}_ci95_low"], out[f"p_{r}_ci95_high"] = accuracy_ci(predictions[r], seed)
    for st in _STATISTICS:  # the study's differences: a pair's two single-teacher recipes, or a mix over its better source
        if st.b is not None:
            hard, easy = st.a, st.b
            if hard in P and easy in P:
                out[f"p_{hard}"], out[f"p_{easy}"] = P[hard], P[easy]
                out[st.name] = delta(P[hard], P[easy])
                out[f"{st.name}_noise95"] = noise95(evals[hard], evals[easy])
                out[f"{st.name}_beyond_noise"] = abs(out[st.name]) > out[f"{st.name}_noise95"]
                _add_paired(out, st.name, predictions, hard, easy, seed)
            continue
        mix = RECIPES[st.a]
        hard, easy = pure(mix.hard, mix.easy, "hard"), pure(mix.hard, mix.easy, "easy")
        if st.a in P and hard in P and easy in P:
            best = hard if P[hard] >= P[easy] else easy
            out[f"p_{st.a}"] = P[st.a]
            out[st.name] = delta(P[st.a], P[best])
            out[f"{st.name}_noise95"] = noise95(evals[st.a], evals[best])
            out[f"{st.name}_beyond_noise"] = abs(out[st.name]) > out[f"{st.name}_noise95"]
            _add_paired(out, st.name, predictions, st.a, best, seed)
    return out


def gap_table(evals_by_student: dict[str, dict[str, list[dict] | dict]],
              predictions_by_student: dict[str, dict[str, list]] | None = None, seed: int = 0) -> dict[str, dict]:
    preds = predictions_by_student or {}
    return {s: student_gap(ev, preds.get(s), seed) for s, ev in sorted(evals_by_student.items())}


def outcomes(stats: dict[str, dict]) -> dict[str, dict]:
    """The study's outcomes out of the full statistics, per student: each recipe's average accuracy (`p_…`) and each
    difference with its paired 95% CI. These are the declared DVC metrics, a screenful in `dvc exp show`; noise
    bands, p-values, power and the grader audit stay in the full statistics beside them.

    >>> outcomes({"s": {"p_long": 20.0, "delta_long": -5.0, "delta_long_ci95_low": -9.0, "delta_long_ci95_high": 1.0,
    ...                 "delta_long_p_mcnemar": 0.2, "train_seeds": 1}})
    {'s': {'delta_long': -5.0, 'delta_long_ci95_high': 1.0, 'delta_long_ci95_low': -9.0, 'p_long': 20.0}}
    """
    keep = {f"{k}{suffix}" for k in STATISTICS for suffix in ("", "_ci95_low", "_ci95_high")}
    return {s: {k: v for k, v in sorted(g.items()) if k in keep or (k.startswith("p_") and "_ci95_" not in k)}
            for s, g in stats.items()}
