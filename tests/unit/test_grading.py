import pytest

from mixdistill.grading import MAX_ANSWER_CHARS, extract_answer, grade, last_boxed


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"\boxed{42}", "42"),
        (r"first \boxed{1} then \boxed{2}", "2"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{ {a}+{b} }", "{a}+{b}"),
        (r"\fbox{7}", "7"),
        (r"unclosed \boxed{12", None),
        ("no answer here", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_extract_answer_prefers_boxed_then_final_line_then_number():
    assert extract_answer(r"Final Answer: \boxed{3}") == ("3", "boxed")
    assert extract_answer("blah\nFinal Answer: 17.") == ("17", "final_answer")
    assert extract_answer("so it is 1,234 apples") == (None, "none")
    assert extract_answer("so it is 1,234 apples", numeric_fallback=True) == ("1234", "last_number")


@pytest.mark.parametrize(
    "response, gold, correct, reason",
    [
        (r"Final Answer: \boxed{13}", "13", True, "correct"),
        (r"\boxed{0.5}", r"\frac{1}{2}", True, "correct"),
        (r"\boxed{e = 13}", "13", True, "correct"),
        (r"\boxed{-4}", "4", False, "mismatch"),
        ("I give up", "4", False, "no_answer"),
        (r"\boxed{\text{???}}", "4", False, "mismatch"),
    ],
)
def test_grade(response, gold, correct, reason):
    g = grade(response, gold)
    assert (g.correct, g.reason) == (correct, reason)


def test_truncated_without_answer_is_reported_as_truncated():
    assert grade("Let me think and think", "5", truncated=True).reason == "truncated"
    # a truncated response that already boxed the right answer still counts
    assert grade(r"\boxed{5} and then more", "5", truncated=True).correct


def test_adversarial_answers_do_not_hang_and_count_as_wrong():
    nested = r"\boxed{" + "{" * 400 + "1" + "}" * 400 + "}"
    g = grade(nested, "1")
    assert not g.correct and g.reason == "parse_failure"
    assert len(g.extracted) == MAX_ANSWER_CHARS
    deep = r"\boxed{" + r"\frac{1}{" * 30 + "2" + "}" * 30 + "}"
    assert grade(deep, "1").correct is False
