"""The grader audit: four graders and the controls on hand-made predictions, with the verdicts worked out by hand."""

from mixdistill.audit import audit_student, checker, controls, failed_controls, gap_columns, math_verify_own, regrade, strict_boxed


def _problem(pid, answer, task="basic_arithmetic", source=None, question="q", bench="arith"):
    return {"problem_id": pid, "question": question, "answer": answer, "task": task, "metadata": {},
            "source": source or f"reasoning_gym:{task}", "benchmark": bench}


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


def test_math_verify_own_reads_the_whole_response_itself():
    assert math_verify_own(r"so \boxed{12}", "12") and math_verify_own("Final Answer: 12", "12")
    assert not math_verify_own(r"\fbox{12}", "12")  # math-verify does not read \fbox; the pipeline does
    # with no anchor it evaluates the question itself (reasoning-gym's chain_sum wording): see the controls
    assert math_verify_own("State the final answer to the following arithmetic problem: 5 + 4 - 1 =", "8")


def test_regrade_four_ways():
    preds = [_pred("p1", r"\boxed{12.0}", "12.0", True), _pred("p2", "Final Answer: -3", "-3", True),
             _pred("p3", r"\boxed{7}", "7", True), _pred("p4", r"\boxed{6}", "6", False)]
    assert [tuple(v.values()) for v in regrade(preds, PROBLEMS)] == [
        (True, True, False, False), (True, True, False, True), (True, True, True, True), (False, False, False, False)]


def test_audit_counts_disagreements_and_flags_a_conclusion_that_flips():
    # long: right under math-verify on p1, p2 (unboxed / 12.0 forms), strict and checker disagree;
    # short: boxed exact answers on p3 only.
    long = [_pred("p1", r"\boxed{12.0}", "12.0", True), _pred("p2", "Final Answer: -3", "-3", True),
            _pred("p3", "no idea", None, False), _pred("p4", r"\boxed{6}", "6", False)]
    short = [_pred("p1", "no", None, False), _pred("p2", "no", None, False),
             _pred("p3", r"\boxed{7}", "7", True), _pred("p4", r"\boxed{6}", "6", False)]
    a = audit_student({"long": long, "short": short}, PROBLEMS)
    assert a["graders"] == ["math_verify", "math_verify_own", "strict_boxed", "checker"] and a["predictions"] == 8
    assert a["recipes"]["long"]["accuracy"] == {"math_verify": 50.0, "math_verify_own": 50.0, "strict_boxed": 0.0,
                                                "checker": 25.0}
    assert a["recipes"]["short"]["accuracy"] == {"math_verify": 25.0, "math_verify_own": 25.0, "strict_boxed": 25.0,
                                                 "checker": 25.0}
    d = a["recipes"]["long"]["disagree"]
    assert (d["strict_boxed"]["math_verify_only"], d["strict_boxed"]["strict_boxed_only"]) == (2, 0)
    assert (d["checker"]["math_verify_only"], d["checker"]["checker_only"]) == (1, 0)
    assert d["checker"]["examples"] == [{"problem_id": "p1", "gold": "12", "extracted": "12.0", "boxed": "12.0",
                                         "math_verify": True}]
    assert d["strict_boxed"]["examples"][1]["boxed"] is None  # p2 answered "Final Answer: -3", unboxed
    assert a["statistics"]["delta_long"] == {"math_verify": 25.0, "math_verify_own": 25.0, "strict_boxed": -25.0,
                                             "checker": 0.0}
    assert a["same_sign_under_every_grader"] == {"delta_long": False}
    assert a["disagree_pct"] == {"math_verify_own": 0.0, "strict_boxed": 25.0, "checker": 12.5}
    assert gap_columns(a) == {"delta_long_math_verify_own": 25.0, "delta_long_strict_boxed": -25.0,
                              "delta_long_checker": 0.0, "grader_disagree_pct_math_verify_own": 0.0,
                              "grader_disagree_pct_strict_boxed": 25.0, "grader_disagree_pct_checker": 12.5}
    assert a["controls"]["arith"]["gold"] == dict.fromkeys(a["graders"], 100.0) and a["controls_failed"] == []


def test_without_a_checker_the_audit_uses_two_graders():
    problems = {"f1": _problem("f1", "4", source="hf:some/set", bench="b"),
                "f2": _problem("f2", "9", source="hf:some/set", bench="b")}
    preds = [{"problem_id": "f1", "benchmark": "b", "answer": "4", "response": r"\boxed{4}", "extracted": "4", "correct": True},
             {"problem_id": "f2", "benchmark": "b", "answer": "9", "response": r"\boxed{9}", "extracted": "9", "correct": True}]
    a = audit_student({"long": preds, "short": preds}, problems)
    assert a["graders"] == ["math_verify", "math_verify_own", "strict_boxed"]
    assert a["same_sign_under_every_grader"] == {"delta_long": True}
    assert a["disagree_pct"] == {"math_verify_own": 0.0, "strict_boxed": 0.0}


def test_controls_score_gold_answers_and_junk_per_benchmark_and_name_each_failure():
    problems = [_problem("a1", "8", question="State the final answer to the following arithmetic problem: 5 + 4 - 1 ="),
                _problem("a2", "-3", question="Compute 4 - 7."),
                _problem("g1", "18", source="file:gsm8k.jsonl", question="Janet has 18 eggs. How many?", bench="gsm"),
                _problem("g2", "1,200", source="file:gsm8k.jsonl", question="How many?", bench="gsm")]
    problems[2]["grading"] = problems[3]["grading"] = "numeric"  # last-number fallback, as GSM8K is graded
    c = controls(problems, ["math_verify", "math_verify_own", "strict_boxed", "checker"])
    assert c["arith"] == {"gold": {"math_verify": 100.0, "math_verify_own": 100.0, "strict_boxed": 100.0, "checker": 100.0},
                          # 2 problems x 3 junk responses: math-verify's own extraction evaluates both questions
                          "junk": {"math_verify": 0.0, "math_verify_own": 33.33, "strict_boxed": 0.0, "checker": 0.0},
                          "n": 2}
    # a GSM8K question whose last number is its answer fools the last-number fallback: 1 of 6 junk responses
    assert c["gsm"]["gold"] == {"math_verify": 100.0, "math_verify_own": 100.0, "strict_boxed": 100.0, "checker": None}
    assert c["gsm"]["junk"]["math_verify"] == 16.67 and c["gsm"]["junk"]["checker"] is None
    assert failed_controls(c)[:2] == ["arith: junk answers score 33.33% under math_verify_own (expected 0.0%)",
                                      "gsm: junk answers score 16.67% under math_verify (expected 0.0%)"]
