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


def test_extract_answer_prefers_boxed_then_gsm8k_then_phrase_then_number():
    assert extract_answer(r"Final Answer: \boxed{3}") == ("3", "boxed")
    assert extract_answer("The answer is 5.\n#### 5") == ("5", "gsm8k")
    assert extract_answer("blah\nFinal Answer: 17.") == ("17", "answer_phrase")
    assert extract_answer("The answer is $x$, and the final answer is 3.5.") == ("3.5", "answer_phrase")
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


# The answer formats models of the field write. Each row: response, gold, the right verdict, math-verify's own
# extraction's verdict (parse with LatexExtractionConfig and ExprExtractionConfig over the whole response, as open-r1
# and lighteval call it), and where that differs from the right verdict, why. The pipeline's grader must give the right
# verdict on every row. `before` marks the rows the grader got wrong before 2026-12 (see the module docstring).
FORMATS = [
    # boxes
    (r"so the answer is $\boxed{2}$.", "2", True, True, ""),
    (r"so the answer is $\boxed 2$.", "2", True, True, "before: unbraced box (2 MATH train solutions end so)"),
    (r"\fbox{7}", "7", True, False, "math-verify does not read \\fbox"),
    ("**Final Answer**\n\\[ \\boxed{\\dfrac{3}{4}} \\]", r"\frac34", True, True, ""),
    (r"\boxed{2}, \boxed{-3}", "-3, 2", True, True, "before: two answers in two boxes (the grader kept the last)"),
    (r"first \boxed{1}, then the answer: \boxed{2}", "2", True, False, "math-verify reads another box than the last"),
    (r"\boxed{5}", "6", False, False, ""),
    # answer phrases
    (r"Final Answer: The final answer is $\frac{1}{2}$. I hope it is correct.", r"\frac{1}{2}", True, True,
     "before: Minerva's format was read as 'The final answer is'"),
    (r"Final Answer: The final answer is $3$. I hope it is correct.", "4", False, False, ""),
    ("The answer is 42.", "42", True, True, "before: no answer phrase but 'Final Answer'"),
    (r"Therefore, the answer is $-3$.", "-3", True, True, "before"),
    ("Answer: 17", "17", True, True, "before"),
    ("**Answer:** 3.5", "3.5", True, True, "before"),
    ("The final answer is 18.", "18", True, True, ""),
    ("The answer is 12.", "13", False, False, ""),
    # real SmolLM2-135M outputs of the default run
    ("73 - 46 = 27\n\nFinal Answer: 27\n\nExplanation:\n\nThe problem is 73 - 46 = 27, which is the final answer.", "27",
     True, True, "before: the old grader read an empty answer after the last 'final answer'"),
    ("225\n\nFinal Answer: 225\n\nIn this example, the answer is calculated by multiplying the numbers.", "225",
     True, True, "a passing 'the answer is' in prose does not replace the final answer"),
    ("10*l + 20 = 180\n10*l = 180\nl = 180 / 10\nl = 18\nThe answer is 18.", "18", True, True, "before"),
    ("The final answer to the given math problem is 0.", "0", True, True, "before: read as 'to the given math ...'"),
    ("The final answer to the given math problem is 0.", "-4", False, False, ""),
    # numbers as written
    (r"\boxed{\dfrac{3}{4}}", r"\frac{3}{4}", True, True, ""),
    (r"\boxed{1,200}", "1200", True, True, ""),
    (r"\boxed{1{,}200}", "1200", True, True, ""),
    (r"\boxed{1,\!200}", "1200", True, True, ""),
    (r"\boxed{5\text{ cm}}", "5", True, True, ""),
    (r"\boxed{50\%}", "50", True, False, "before: MATH's answers drop or keep the percent sign alike"),
    (r"\boxed{50}", r"50\%", True, False, "before: the same, the other way round"),
    (r"\boxed{30^\circ}", "30", True, True, ""),
    (r"\boxed{\$18}", "18", True, True, ""),
    (r"$\boxed{05:00}$", r"05\!:\!00", True, True, "before: a time parses to complex infinity; equal as strings"),
    # sets, intervals, tuples, text
    (r"\boxed{(1, 5]}", r"(1,5]", True, True, ""),
    (r"\boxed{[-2, 3)}", r"(-2,3)", False, False, ""),
    (r"\boxed{(2, -3)}", r"(2,-3)", True, True, ""),
    (r"\boxed{2, -3}", r"-3, 2", True, True, ""),
    (r"\boxed{x = 2 \text{ or } x = -3}", r"2, -3", True, True, ""),
    (r"\boxed{\text{Monday}}", r"\text{Monday}", True, True, ""),
    # choice letters
    (r"\boxed{C}", r"\text{(C)}", True, True, ""),
    (r"\boxed{(C)}", "C", True, True, ""),
    ("Answer: (B)", "B", True, False, "before; math-verify's own extraction finds no answer in 'Answer: (B)'"),
    # GSM8K
    ("She makes 9 * 2 = $18.\n#### 18", "18", True, True, "before: the reference's own '#### N' line"),
    ("#### 1,200", "1200", True, True, "before"),
    # more text after the answer, an answer restated after the box
    (r"\boxed{4}. Let me double check: 2+2=4, yes.", "4", True, True, ""),
    (r"We get \boxed{4}. Hmm, actually the answer is 5.", "4", True, True, "the box is the committed answer"),
    # junk
    ("I don't know", "6", False, False, ""),
    ("", "6", False, False, ""),
]


@pytest.mark.parametrize("response, gold, right, own, why", FORMATS, ids=[f"{i:02d}" for i in range(len(FORMATS))])
def test_answer_formats_of_the_field(response, gold, right, own, why):
    from mixdistill.audit import math_verify_own

    assert grade(response, gold).correct is right, (response, gold, extract_answer(response))
    assert math_verify_own(response, gold) is own, "math-verify's own extraction changed: update the table"
    assert (own == right) or why, "where math-verify's own extraction is wrong, the row says why"


def test_gsm8k_last_number_fallback_reads_thousands_separators():
    assert grade("She makes 1,200 dollars in all.", "1200", numeric_fallback=True).correct
    assert not grade("She makes 1,200 dollars in all.", "1200").correct  # boxed-graded benchmarks need an answer
