"""The grader audit: three graders on hand-made predictions, with the verdicts worked out by hand."""

from mixdistill.audit import audit_student, checker, gap_columns, regrade, strict_boxed


def _problem(pid, answer, task="basic_arithmetic", source=None):
    return {"problem_id": pid, "question": "q", "answer": answer, "task": task, "metadata": {},
            "source": source or f"reasoning_gym:{task}"}


def _pred(pid, response, extracted, correct, bench="arith"):
    return {"problem_id": pid, "benchmark": bench, "answer": PROBLEMS[pid]["answer"], "sample": 0,
            "response": response, "extracted": extracted, "correct": correct}


PROBLEMS = {p["problem_id"]: p for p in (_problem("p1", "12"), _problem("p2", "-3"), _problem("p3", "7"),
                                         _problem("p4", "5"))}


def test_strict_boxed_is_a_string_match_of_the_last_box():
    assert strict_boxed(r"first \boxed{3} then \boxed{ 12 }", "12")
    assert strict_boxed(r"\boxed{$12$}", "12")
    assert not strict_boxed(r"\boxed{12.0}", "12")  # math-verify would accept this
    assert not strict_boxed("Final Answer: 12", "12")  # no box, no credit
    assert strict_boxed(r"\boxed{\frac{1}{2}}", r"the answer is \boxed{\frac{1}{2}}")


def test_checker_is_reasoning_gyms_own_and_absent_elsewhere():
    # basic_arithmetic's score_answer gives 12.0 half credit: not correct under the checker
    assert checker({"extracted": "12"}, PROBLEMS["p1"]) is True
    assert checker({"extracted": "12.0"}, PROBLEMS["p1"]) is False
    assert checker({"extracted": None}, PROBLEMS["p1"]) is False
    assert checker({"extracted": "12"}, _problem("f1", "12", source="file:data/x.jsonl")) is None


def test_regrade_three_ways():
    preds = [_pred("p1", r"\boxed{12.0}", "12.0", True), _pred("p2", "Final Answer: -3", "-3", True),
             _pred("p3", r"\boxed{7}", "7", True), _pred("p4", r"\boxed{6}", "6", False)]
    assert [tuple(v.values()) for v in regrade(preds, PROBLEMS)] == [
        (True, False, False), (True, False, True), (True, True, True), (False, False, False)]


def test_audit_counts_disagreements_and_flags_a_conclusion_that_flips():
    # long: right under math-verify on p1, p2 (unboxed / 12.0 forms), strict and checker disagree;
    # short: boxed exact answers on p3 only.
    long = [_pred("p1", r"\boxed{12.0}", "12.0", True), _pred("p2", "Final Answer: -3", "-3", True),
            _pred("p3", "no idea", None, False), _pred("p4", r"\boxed{6}", "6", False)]
    short = [_pred("p1", "no", None, False), _pred("p2", "no", None, False),
             _pred("p3", r"\boxed{7}", "7", True), _pred("p4", r"\boxed{6}", "6", False)]
    a = audit_student({"long": long, "short": short}, PROBLEMS)
    assert a["graders"] == ["math_verify", "strict_boxed", "checker"] and a["predictions"] == 8
    assert a["recipes"]["long"]["accuracy"] == {"math_verify": 50.0, "strict_boxed": 0.0, "checker": 25.0}
    assert a["recipes"]["short"]["accuracy"] == {"math_verify": 25.0, "strict_boxed": 25.0, "checker": 25.0}
    d = a["recipes"]["long"]["disagree"]
    assert (d["strict_boxed"]["math_verify_only"], d["strict_boxed"]["strict_boxed_only"]) == (2, 0)
    assert (d["checker"]["math_verify_only"], d["checker"]["checker_only"]) == (1, 0)
    assert d["checker"]["examples"] == [{"problem_id": "p1", "gold": "12", "extracted": "12.0", "boxed": "12.0",
                                         "math_verify": True}]
    assert d["strict_boxed"]["examples"][1]["boxed"] is None  # p2 answered "Final Answer: -3", unboxed
    assert a["statistics"]["delta_long"] == {"math_verify": 25.0, "strict_boxed": -25.0, "checker": 0.0}
    assert a["same_sign_under_every_grader"] == {"delta_long": False}
    assert a["disagree_pct"] == {"strict_boxed": 25.0, "checker": 12.5}
    assert gap_columns(a) == {"delta_long_strict_boxed": -25.0, "delta_long_checker": 0.0,
                              "grader_disagree_pct_strict_boxed": 25.0, "grader_disagree_pct_checker": 12.5}


def test_without_a_checker_the_audit_uses_two_graders():
    problems = {"f1": _problem("f1", "4", source="hf:some/set"), "f2": _problem("f2", "9", source="hf:some/set")}
    preds = [{"problem_id": "f1", "benchmark": "b", "answer": "4", "response": r"\boxed{4}", "extracted": "4", "correct": True},
             {"problem_id": "f2", "benchmark": "b", "answer": "9", "response": r"\boxed{9}", "extracted": "9", "correct": True}]
    a = audit_student({"long": preds, "short": preds}, problems)
    assert a["graders"] == ["math_verify", "strict_boxed"]
    assert a["same_sign_under_every_grader"] == {"delta_long": True} and a["disagree_pct"] == {"strict_boxed": 0.0}
