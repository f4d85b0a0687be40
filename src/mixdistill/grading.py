"""Answer extraction and grading: pure functions, math-verify for equivalence.

>>> last_boxed(r"so \\boxed{\\frac{1}{2}} and then \\boxed{3}")
'3'
>>> extract_answer("Final Answer: 42")
('42', 'final_answer')
>>> grade(r"Final Answer: \\boxed{0.5}", r"\\frac{1}{2}").correct
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REASONS = ("correct", "no_answer", "parse_failure", "mismatch", "truncated", "timeout")
MAX_ANSWER_CHARS = 200  # longer "answers" are not parsed at all: they count as parse failures

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_FINAL = re.compile(r"final answer\s*(?:is)?\s*[:：]?\s*\$?([^\n$]+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None
    reason: str  # one of REASONS


def last_boxed(text: str) -> str | None:
    """Content of the last complete \\boxed{...} (nested braces allowed), else None."""
    found = None
    for m in _BOXED.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            found = text[m.end() : i - 1].strip()
    return found


def extract_answer(text: str, numeric_fallback: bool = False) -> tuple[str | None, str]:
    """(answer, how): the last boxed answer, else a 'Final Answer: X' line, else (optionally) the last number."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed, "boxed"
    finals = _FINAL.findall(text)
    if finals:
        return finals[-1].strip().rstrip("."), "final_answer"
    if numeric_fallback:
        numbers = _NUMBER.findall(text)
        if numbers:
            return numbers[-1].replace(",", ""), "last_number"
    return None, "none"


def grade(response: str, gold: str, truncated: bool = False, numeric_fallback: bool = False) -> Grade:
    """Grade one response against a gold answer with math-verify.

    A truncated response is wrong with reason 'truncated' unless it already holds a
    correct final answer. Work is bounded: answers over MAX_ANSWER_CHARS are not parsed,
    and math-verify's own timeouts stay on (they need the main thread).
    """
    from math_verify import parse, verify
    from math_verify.errors import TimeoutException

    answer, _how = extract_answer(response, numeric_fallback)
    if answer is None:
        return Grade(False, None, "truncated" if truncated else "no_answer")
    if len(answer) > MAX_ANSWER_CHARS:
        return Grade(False, answer[:MAX_ANSWER_CHARS], "parse_failure")
    try:
        gold_parsed = parse(_as_boxed(gold), raise_on_error=True)
        pred_parsed = parse(_as_boxed(answer), raise_on_error=True)
        if not pred_parsed:
            return Grade(False, answer, "truncated" if truncated else "parse_failure")
        ok = verify(gold_parsed, pred_parsed, raise_on_error=True)
    except TimeoutException:
        return Grade(False, answer, "timeout")
    except Exception:  # math-verify raises many sympy errors on odd input: that input is unparseable
        return Grade(False, answer, "parse_failure")
    if ok:
        return Grade(True, answer, "correct")
    return Grade(False, answer, "truncated" if truncated else "mismatch")


def _as_boxed(answer: str) -> str:
    answer = str(answer).strip()
    return answer if "\\boxed" in answer else f"\\boxed{{{answer}}}"
