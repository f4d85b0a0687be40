import pytest

from mixdistill.mix import EmptyTeacherError, mix


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


def test_only_problems_both_teachers_answered_correctly():
    hard = _recs(range(0, 10), "H") + _recs(range(10, 12), "H", correct=False)
    easy = _recs(range(3, 12), "E")
    recs, man = mix(hard, easy, 1.0, seed=0, names=("large", "small"))
    assert [r["problem_id"] for r in recs] == [f"p{i:03d}" for i in range(3, 10)]
    assert man["hard_problems_correct"] == 10 and man["easy_problems_correct"] == 9
    assert man["dropped_not_common"] == 5  # p000-p002 (easy lacks) + p010-p011 (hard wrong)


def test_all_wrong_teacher_is_named():
    with pytest.raises(EmptyTeacherError, match="teacher 'short' has no correct response among its 5 records"):
        mix(_recs(range(5), "H"), _recs(range(5), "E", correct=False), 0.2, seed=0, names=("long", "short"))


def test_weight_out_of_range():
    with pytest.raises(ValueError, match="within"):
        mix(_recs(range(5), "H"), _recs(range(5), "E"), 1.5, seed=0, names=("long", "short"))
