import pytest

from mixdistill.mix import EmptyTeacherError, mix, released


def _recs(ids, text, correct=True):
    return [{"problem_id": f"p{i:03d}", "question": f"q{i}", "response": text, "correct": correct} for i in ids]


@pytest.mark.parametrize("weight, n, n_hard", [(0.0, 50, 0), (0.2, 50, 10), (0.5, 50, 25), (1.0, 50, 50), (0.2, 7, 1), (0.3, 10, 3)])
def test_exact_counts_and_each_problem_once(weight, n, n_hard):
    recs, man = mix(_recs(range(n), "H"), _recs(range(n), "E"), weight, seed=0, names=("long", "short"))
    assert man["from_hard"] == n_hard == sum(r["response"] == "H" for r in recs)
    assert man["from_easy"] == n - n_hard == sum(r["response"] == "E" for r in recs)
    assert sorted(r["problem_id"] for r in recs) == [f"p{i:03d}" for i in range(n)]


def test_deterministic_per_seed_and_varies_across_seeds():
    args = (_recs(range(40), "H"), _recs(range(40), "E"), 0.5)
    a, _ = mix(*args, seed=1, names=("l", "s"))
    b, _ = mix(*args, seed=1, names=("l", "s"))
    c, _ = mix(*args, seed=2, names=("l", "s"))
    assert a == b
    assert [r["teacher"] for r in a] != [r["teacher"] for r in c]


def test_only_problems_both_teachers_kept():
    # the teacher's filter decides what is kept; an empty response (a dataset teacher lacking the problem) never counts
    hard = _recs(range(0, 10), "H") + _recs(range(10, 12), "")
    easy = _recs(range(3, 12), "E")
    recs, man = mix(hard, easy, 1.0, seed=0, names=("large", "small"))
    assert [r["problem_id"] for r in recs] == [f"p{i:03d}" for i in range(3, 10)]
    assert man["hard_problems_kept"] == 10 and man["easy_problems_kept"] == 9
    assert man["dropped_not_common"] == 5  # p000-p002 (easy lacks) + p010-p011 (hard empty)


def test_kept_wrong_answers_are_used():
    # filter keep_all keeps responses math-verify judged wrong (a released set as published): the mix uses them
    recs, _ = mix(_recs(range(4), "H", correct=False), _recs(range(4), "E"), 0.5, seed=0, names=("long", "short"))
    assert len(recs) == 4 and sum(r["response"] == "H" for r in recs) == 2


def test_teacher_with_nothing_kept_is_named():
    with pytest.raises(EmptyTeacherError, match="teacher 'short' has no kept response among its 5 records"):
        mix(_recs(range(5), "H"), _recs(range(5), " "), 0.2, seed=0, names=("long", "short"))


def test_released_set_is_matched_by_question_and_attributed():
    probs = [{"problem_id": f"p{i:03d}", "question": f"q{i}"} for i in range(6)]
    hard, easy = _recs(range(6), "long answer"), _recs(range(6), "short answer")
    rows = [("q0", "long answer"), ("q1", "short  answer"), ("q2", "short answer"), ("q2", "dup"),
            ("q3", "something else"), ("unknown question", "x")]
    recs, man = released(rows, probs, hard, easy, ("long", "short"))
    assert [(r["problem_id"], r["teacher"]) for r in recs] == [("p000", "long"), ("p001", "short"), ("p002", "short"),
                                                               ("p003", "released")]
    assert recs[1]["response"] == "short  answer"  # used as published
    assert (man["from_hard"], man["from_easy"], man["from_neither"]) == (1, 2, 1)
    assert (man["unmatched_rows"], man["duplicate_rows"], man["observed_weight"]) == (1, 1, 0.3333)
    with pytest.raises(EmptyTeacherError, match="none of the 1 released rows"):
        released([("nope", "x")], probs, hard, easy, ("long", "short"))


def test_weight_out_of_range():
    with pytest.raises(ValueError, match="within"):
        mix(_recs(range(5), "H"), _recs(range(5), "E"), 1.5, seed=0, names=("long", "short"))


def _tok(ids, text, tokens, model):
    return [{"problem_id": f"p{i:03d}", "question": f"q{i}", "response": text, "teacher_model": model,
             "response_tokens": tokens(i)} for i in ids]


def test_every_example_records_its_source_and_the_manifest_totals_them():
    hard, easy = _tok(range(10), "H", lambda i: 100 + i, "big-model"), _tok(range(10), "E", lambda i: 10, "small-model")
    recs, man = mix(hard, easy, 0.2, seed=0, names=("long", "short"))
    assert all(set(r) >= {"problem_id", "teacher", "teacher_model", "response_tokens"} for r in recs)
    assert {(r["teacher"], r["teacher_model"]) for r in recs} == {("long", "big-model"), ("short", "small-model")}
    long_tokens = sum(r["response_tokens"] for r in recs if r["teacher"] == "long")
    assert man["unit"] == "examples" and man["by_source"] == {"long": {"examples": 2, "tokens": long_tokens},
                                                              "short": {"examples": 8, "tokens": 80}}
    assert man["tokens"] == long_tokens + 80 and man["token_weight"] == round(long_tokens / (long_tokens + 80), 4)


@pytest.mark.parametrize("weight", [0.0, 0.1, 0.2, 0.5, 0.9, 1.0])
def test_token_unit_hits_the_token_share_to_one_example(weight):
    """Hard responses 20-59 tokens, easy 5-9: the hard token share is within one example's worth of the weight."""
    hard = _tok(range(30), "H", lambda i: 20 + (i * 7) % 40, "h")
    easy = _tok(range(30), "E", lambda i: 5 + i % 5, "e")
    recs, man = mix(hard, easy, weight, seed=3, names=("long", "short"), unit="tokens")
    k = man["from_hard"]
    assert man["unit"] == "tokens" and len(recs) == 30 and k == sum(r["teacher"] == "long" for r in recs)

    def share(hard_ids):
        h = sum(r["response_tokens"] for r in hard if r["problem_id"] in hard_ids)
        return h / (h + sum(r["response_tokens"] for r in easy if r["problem_id"] not in hard_ids))

    chosen = {r["problem_id"] for r in recs if r["teacher"] == "long"}
    assert man["token_weight"] == round(share(chosen), 4)
    # moving one example either way (any one) cannot land closer than one example's share step
    hard_tokens = [r["response_tokens"] for r in hard]
    step = max(hard_tokens) / sum(r["response_tokens"] for r in easy)
    assert abs(share(chosen) - weight) <= step
    if 0 < weight < 1:
        examples, _ = mix(hard, easy, weight, seed=3, names=("long", "short"))
        assert k < sum(r["teacher"] == "long" for r in examples)  # long responses: fewer examples for the same share


def test_token_unit_needs_token_counts():
    with pytest.raises(EmptyTeacherError, match="response_tokens.*mix.unit: examples"):
        mix(_recs(range(4), "H"), _recs(range(4), "E"), 0.5, seed=0, names=("long", "short"), unit="tokens")
