import pytest

from mixdistill.evaluate import summarise
from mixdistill.gap import average, delta, mcnemar_exact, noise95, paired, student_gap

# the paper (arXiv 2502.12143), long vs short CoT: student -> (P_Long, P_Short, Delta_Long)
TABLE1 = {
    "Qwen2.5-0.5B": (14.8, 19.5, -4.7),
    "Qwen2.5-1.5B": (27.0, 34.2, -7.1),  # the paper rounds its own unrounded scores: -7.2 from these two
    "Qwen2.5-3B": (40.3, 43.4, -3.1),
    "Qwen2.5-7B": (48.9, 47.2, 1.7),
    "Qwen2.5-14B": (59.2, 54.3, 4.9),
    "Qwen2.5-32B": (73.0, 59.3, 13.7),
    "Llama-3.2-1B": (15.8, 19.5, -3.7),
    "Llama-3.2-3B": (32.5, 33.1, -0.6),
    "Llama-3.1-8B": (35.2, 31.5, 3.7),
    "Llama-3.3-70B": (58.2, 54.3, 3.8),
}


@pytest.mark.parametrize("student", TABLE1)
def test_table1_deltas(student):
    p_long, p_short, d = TABLE1[student]
    assert delta(p_long, p_short) == pytest.approx(d, abs=0.11)


def test_average_is_plain_mean_of_benchmarks():
    # MATH / AMC / GSM8K / Olympiad / AIME for the Long-CoT 3B student
    assert average([56.2, 37.5, 80.0, 24.4, 3.3]) == 40.28
    assert round(average([64.7, 45.0, 81.4, 28.6, 10.0]), 1) == 45.9  # Mix-Long


def _m(avg_by_bench, n=40):
    acc = dict(avg_by_bench)
    return {"accuracy": {**acc, "average": average(list(acc.values()))}, "n": {b: n for b in acc}}


def test_student_gap_from_paper_table3():
    rows = {
        "long": [56.2, 37.5, 80.0, 24.4, 3.3], "short": [61.0, 37.5, 82.0, 26.4, 10.0],
        "mix_long": [64.7, 45.0, 81.4, 28.6, 10.0], "mix_large": [65.8, 42.5, 81.7, 29.0, 10.0],
        "large": [50.0] * 5, "small": [40.0] * 5,
    }
    benches = ["math", "amc", "gsm8k", "olympiad", "aime"]
    g = student_gap({r: _m(zip(benches, v)) for r, v in rows.items()})
    assert g["p_long"] == 40.28 and g["p_short"] == 43.38
    assert g["delta_long"] == -3.1
    assert g["mix_long_gain"] == round(45.94 - 43.38, 2)  # against the better source, short
    assert g["delta_large"] == 10.0
    assert g["mix_large_gain"] == round(average(rows["mix_large"]) - 50.0, 2)  # against large


def test_noise_band_shrinks_with_more_problems():
    small = noise95(_m({"a": 50.0}, n=20), _m({"a": 40.0}, n=20))
    large = noise95(_m({"a": 50.0}, n=2000), _m({"a": 40.0}, n=2000))
    assert small == pytest.approx(1.96 * ((0.25 / 20 + 0.24 / 20) ** 0.5) * 100, abs=0.01)
    assert large < small / 9


def test_summarise_counts_reasons_and_means():
    preds = [
        {"benchmark": "a", "problem_id": "a1", "correct": True, "reason": "correct", "response_tokens": 10},
        {"benchmark": "a", "problem_id": "a2", "correct": False, "reason": "truncated", "response_tokens": 30},
        {"benchmark": "b", "problem_id": "b1", "correct": False, "reason": "no_answer", "response_tokens": 20},
    ]
    s = summarise(preds)
    assert s["accuracy"] == {"a": 50.0, "b": 0.0, "average": 25.0}
    assert s["n"] == {"a": 2, "b": 1}
    assert s["truncated_pct"] == pytest.approx(33.33) and s["response_tokens_mean"] == 20.0
    assert "pass_at" not in s  # one sample: greedy, no pass@k


def test_pass_at_k_over_samples():
    # a1 solved in 1 of 4 samples, a2 in 4 of 4, b1 in 0 of 4
    preds = [{"benchmark": b, "problem_id": pid, "correct": i < c, "reason": "x"}
             for b, pid, c in (("a", "a1", 1), ("a", "a2", 4), ("b", "b1", 0)) for i in range(4)]
    s = summarise(preds)
    assert s["samples"] == 4 and sorted(s["pass_at"]) == ["1", "2", "4"]
    assert s["pass_at"]["1"]["a"] == s["accuracy"]["a"] == 62.5  # pass@1 is the mean accuracy over samples
    assert s["pass_at"]["2"]["a"] == 75.0  # (0.5 + 1) / 2
    assert s["pass_at"]["4"] == {"a": 100.0, "b": 0.0, "average": 50.0}


def test_gap_across_sizes_plot_needs_two_students(tmp_path):
    from mixdistill.report import plot_gap_sizes

    students = {"a": {"family": "qwen", "parameters": 5e8}, "b": {"family": "qwen", "parameters": 3e9}}
    gap = {"a": {"delta_long": -4.7, "delta_large": -2.0}, "b": {"delta_long": -3.1, "delta_large": 1.0}}
    assert plot_gap_sizes({"a": gap["a"]}, students, str(tmp_path / "one.png")) is False
    assert not (tmp_path / "one.png").exists()
    assert plot_gap_sizes(gap, students, str(tmp_path / "two.png")) is True
    assert (tmp_path / "two.png").read_bytes()[:4] == b"\x89PNG"


def _preds(outcomes: dict[str, list[int]]) -> list[dict]:
    """benchmark -> per-problem correctness (one greedy sample each)."""
    return [{"benchmark": b, "problem_id": f"{b}{i}", "sample": 0, "correct": bool(c)}
            for b, cs in outcomes.items() for i, c in enumerate(cs)]


def test_mcnemar_exact_by_hand():
    # 5 problems only a solved, 1 only b: P(X <= 1 | n=6, 1/2) = 7/64, two-sided 14/64
    assert mcnemar_exact(5, 1) == 14 / 64 == mcnemar_exact(1, 5)
    assert mcnemar_exact(10, 0) == 2 / 1024
    assert mcnemar_exact(2, 2) == 1.0 and mcnemar_exact(0, 0) == 1.0
    # n=20, k=5: P(X <= 5) = (1 + 20 + 190 + 1140 + 4845 + 15504) / 2**20
    assert mcnemar_exact(15, 5) == pytest.approx(2 * 21700 / 2 ** 20)


def test_paired_bootstrap_by_hand():
    # every problem flips the same way: no resample can move the difference
    t = paired(_preds({"x": [1, 1, 1]}), _preds({"x": [0, 0, 0]}), seed=0)
    assert t["ci95"] == [100.0, 100.0] and t["discordant"] == [3, 0] and t["p_mcnemar"] == 0.25
    # differences (1, 0, 0): the resampled mean is k/3 with k ~ Binomial(3, 1/3); P(k = 0) = 8/27 > 2.5% and
    # P(k <= 2) = 26/27 < 97.5%, so the interval is [0, 100]
    t = paired(_preds({"x": [1, 0, 0]}), _preds({"x": [0, 0, 0]}), seed=0)
    assert t["ci95"] == [0.0, 100.0] and t["discordant"] == [1, 0] and t["p_mcnemar"] == 1.0
    # var(1, 0, 0) with ddof 1 = 1/3; SE = sqrt(1/3 / 3) = 1/3; mde80 = 2.8016 * 100 / 3
    assert t["mde80"] == round(100 * 2.801585 / 3, 2) == 93.39


def test_paired_bootstrap_is_stratified_seeded_and_matches_the_statistic():
    rng = __import__("random").Random(3)
    a = {"small": [rng.random() < 0.7 for _ in range(10)], "big": [rng.random() < 0.4 for _ in range(200)]}
    b = {"small": [rng.random() < 0.3 for _ in range(10)], "big": [rng.random() < 0.4 for _ in range(200)]}
    point = (100 * (sum(a["small"]) - sum(b["small"])) / 10 + 100 * (sum(a["big"]) - sum(b["big"])) / 200) / 2
    t = paired(_preds(a), _preds(b), seed=1)
    lo, hi = t["ci95"]
    assert lo < point < hi
    # the mean over benchmarks weighs the 10-problem benchmark like the 200-problem one: its paired
    # standard error alone is about sd(d)/sqrt(10)/2, so the interval is far wider than a pooled one would be
    assert hi - lo > 15
    # the power column shrinks with more problems: the same per-problem spread on 4x the problems halves it
    big = paired(_preds({k: v * 4 for k, v in a.items()}), _preds({k: v * 4 for k, v in b.items()}), seed=1)
    assert big["mde80"] < t["mde80"] / 1.9
    assert paired(_preds(a), _preds(b), seed=1) == t
    assert paired(_preds(a), _preds(b), seed=2)["ci95"] != t["ci95"]
    with pytest.raises(ValueError, match="same problems"):
        paired(_preds(a), _preds({"small": b["small"]}), seed=1)


def test_samples_of_a_problem_are_resampled_together():
    # 4 samples per problem; problem p0 always right for a, p1 always wrong for both: per-problem differences (1, 0)
    a = [{"benchmark": "x", "problem_id": p, "sample": s, "correct": p == "p0"} for p in ("p0", "p1") for s in range(4)]
    b = [dict(r, correct=False) for r in a]
    t = paired(a, b, seed=0)
    assert t["discordant"] == [4, 0] and t["p_mcnemar"] == 0.125
    assert t["ci95"] == [0.0, 100.0]  # 2 problems, not 8 independent samples


def test_student_gap_has_paired_columns_only_with_predictions():
    benches = {"x": [1, 1, 0, 0], "y": [1, 0, 0, 0]}
    evals = {r: _m({"x": 50.0, "y": 25.0}, n=4) for r in ("long", "short")}
    assert "delta_long_ci95_low" not in student_gap(evals)
    preds = {"long": _preds(benches), "short": _preds(benches)}
    g = student_gap(evals, preds, seed=0)
    assert (g["delta_long"], g["delta_long_ci95_low"], g["delta_long_ci95_high"], g["delta_long_p_mcnemar"]) == (0, 0, 0, 1)
    assert g["delta_long_mde80"] == 0  # identical predictions: no per-problem variation at all


def test_identical_seeds_change_nothing_but_the_pair_count():
    a, b = _preds({"x": [1, 1, 0, 1, 0], "y": [0, 1, 1]}), _preds({"x": [0, 1, 0, 0, 0], "y": [0, 0, 1]})
    one, two = paired(a, b, seed=4), paired([a, a], [b, b], seed=4)
    assert two["ci95"] == one["ci95"] and two["mde80"] == one["mde80"]
    assert two["discordant"] == [2 * n for n in one["discordant"]] == [6, 0]


def test_seed_spread_widens_the_interval_and_the_power_column():
    # recipe a: one seed solves all four problems, the other none; b (one seed) solves two. Mean difference 0.
    a = [_preds({"x": [1, 1, 1, 1]}), _preds({"x": [0, 0, 0, 0]})]
    b = _preds({"x": [1, 1, 0, 0]})
    t = paired(a, b, seed=0)
    lo, hi = t["ci95"]
    assert lo <= -50 and hi >= 50  # a resample drawing seed 1 twice scores +50 or more, seed 2 twice -50 or less
    # by hand: per-problem differences of the seed means (0.5, 0.5, -0.5, -0.5): variance 1/3, over 4 problems 1/12;
    # a's seed averages (1, 0): variance 1/2, over 2 seeds 1/4; SE = sqrt(1/12 + 1/4)
    assert t["mde80"] == round(100 * 2.801585 * (1 / 12 + 1 / 4) ** 0.5, 2) == 161.75
    assert t["discordant"] == [2, 0]  # seeds paired in order: only a's first seed meets b's one seed


def test_student_gap_takes_the_mean_over_seeds():
    runs = {"long": [_m({"x": 40.0}), _m({"x": 60.0})], "short": [_m({"x": 45.0})]}
    g = student_gap(runs)
    assert g["train_seeds"] == 2 and g["p_long"] == 50.0 and g["delta_long"] == 5.0
