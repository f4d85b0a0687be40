r"""Answer extraction and grading: pure functions, math-verify for equivalence.

Extraction reads the formats models of the field write, in this order (the first that is present wins):
1. the last `\boxed{...}` or `\fbox{...}`, braced or not (`$\boxed 2$`, as some MATH solutions end); boxes that stand
   side by side at the end (`\boxed{2}, \boxed{-3}`) are one answer, `2, -3`;
2. GSM8K's `#### N` line;
3. an answer phrase: `Final Answer: X`, Minerva's `Final Answer: The final answer is $X$. I hope it is correct.`,
   `The final answer to the problem is X`, markdown `**Final Answer:** X` (the last one in the response), else
   `The answer is X`, `Answer: X`; a value that is prose (four words, no math) is passed over;
4. with `numeric_fallback` (GSM8K-style benchmarks), the last number.
An answer restated after a box does not replace the box: the box is the model's committed answer.

Comparison: percent signs are dropped on both sides (`50\%` and `50` are one answer, as MATH's graders treat them),
then math-verify decides; where it cannot (`05\!:\!00`, a time, parses to complex infinity), two answers that are the
same string after cosmetic normalisation (spacing, `\!`, `\left`, `\dfrac`, `$`) are equal.

>>> last_boxed(r"so \boxed{\frac{1}{2}} and then \boxed{3}"), last_boxed(r"so it is $\boxed 2$.")
('3', '2')
>>> extract_answer("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.")
('\\frac{1}{2}', 'answer_phrase')
>>> grade(r"Final Answer: \boxed{0.5}", r"\frac{1}{2}").correct, grade("so the answer is 50%.", r"50\%").correct
(True, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

REASONS = ("correct", "no_answer", "parse_failure", "mismatch", "truncated", "timeout")
MAX_ANSWER_CHARS = 200  # longer "answers" are not parsed at all: they count as parse failures
GRADER_PACKAGES = ("math-verify", "latex2sympy2_extended")  # their upgrades can change grades: recorded with results

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])\s*")
_BETWEEN_BOXES = re.compile(r"[\s$,;]*(?:(?:and|or|\\text\{\s*(?:and|or)\s*\}|\\quad|\\qquad)[\s$,;]*)?")
_GSM8K = re.compile(r"^####\s*(.+?)\s*$", re.MULTILINE)
_PHRASE = re.compile(r"(?:final\s+answer|\banswer)\s*(?:\*\*)?\s*(?:is\b\s*:?|[:：])\s*(?:\*\*)?\s*", re.IGNORECASE)
_FINAL = re.compile(r"final\s+answer(?:\s+to\s[^.:\n]{0,60}?)?\s*(?:\*\*)?\s*(?:is\b\s*:?|[:：])\s*(?:\*\*)?\s*",
                    re.IGNORECASE)
_PROSE = re.compile(r"^[^\d\\=$]*?(?:\b[A-Za-z]+\b[\s,]+){3,}[A-Za-z]+\b[^\d\\=$]*$")  # 4+ words, no math
_SENTENCE_END = re.compile(r"\.(?=\s|$)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_PERCENT = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\})\s*$")
_COSMETIC = re.compile(r"\s+|\$|\\[!,;: ]|\\left|\\right|\\displaystyle")
_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None
    reason: str  # one of REASONS


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every complete box: braced with nested braces, or unbraced (`\\boxed 2`: up to the
    next space or `$`)."""
    found = []
    for m in _BOX.finditer(text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            depth, i = 1, i + 1
            while i < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            if depth == 0:
                found.append((m.start(), i, text[m.end() + 1 : i - 1].strip()))
        else:
            arg = re.match(r"[^\s${}]+", text[i:])
            if arg:
                found.append((m.start(), i + arg.end(), arg.group().rstrip(".,;")))
    return found


def last_boxed(text: str) -> str | None:
    """Content of the last complete box (nested braces allowed; boxes side by side at the end joined by ', ')."""
    boxes = _boxes(text)
    if not boxes:
        return None
    parts = [boxes[-1]]
    for prev in reversed(boxes[:-1]):
        if not _BETWEEN_BOXES.fullmatch(text[prev[1] : parts[0][0]]):
            break
        parts.insert(0, prev)
    return ", ".join(c for _, _, c in parts)


def _phrase_value(text: str, phrase: re.Pattern = _PHRASE) -> str | None:
    """The value after the last answer phrase that has one: a `$...$` (or `\\(...\\)`, `\\[...\\]`) group, else the
    rest of the sentence on that line, unless that is prose ("the answer is calculated by multiplying")."""
    for m in reversed(list(phrase.finditer(text))):
        rest = text[m.end() :]
        while (again := _PHRASE.match(rest, re.search(r"^(?:the\s+)?", rest, re.I).end())) is not None:
            rest = rest[again.end() :]  # Minerva's "Final Answer: The final answer is $X$"
        value = None
        for start, stop in _DELIMS:
            if rest.startswith(start):
                end = rest.find(stop, len(start))
                value = rest[len(start) : end] if end > 0 else None
                break
        if value is None:
            line = rest.split("\n", 1)[0]
            cut = _SENTENCE_END.search(line)
            value = (line[: cut.start()] if cut else line).strip().strip("*").rstrip(".,;:")
            if _PROSE.match(value):
                continue
        value = value.strip()
        if value:
            return value
    return None


def extract_answer(text: str, numeric_fallback: bool = False) -> tuple[str | None, str]:
    """(answer, how): how is boxed, gsm8k, answer_phrase, last_number or none (see the module's order)."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed, "boxed"
    hashes = _GSM8K.findall(text)
    if hashes:
        return hashes[-1].replace(",", ""), "gsm8k"
    phrase = _phrase_value(text, _FINAL)  # an explicit final answer wins over a passing "the answer is"
    if phrase is None:
        phrase = _phrase_value(text)
    if phrase is not None:
        return phrase, "answer_phrase"
    if numeric_fallback:
        numbers = _NUMBER.findall(text)
        if numbers:
            return numbers[-1].replace(",", ""), "last_number"
    return None, "none"


def same_string(a: str, b: str) -> bool:
    r"""Equal after cosmetic normalisation: the fallback where math-verify cannot read an answer (a time, a word).

    >>> same_string(r"05\!:\!00", "05:00"), same_string(r"\dfrac{1}{2}", r"\frac{1}{2}"), same_string("5", "6")
    (True, True, False)
    """
    def norm(s: str) -> str:
        return _COSMETIC.sub("", s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return norm(a) == norm(b) != ""


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
    want, got = _PERCENT.sub("", str(gold)), _PERCENT.sub("", answer)
    if len(answer) > MAX_ANSWER_CHARS:  # too long to parse safely; a long gold answer can still match as a string
        return Grade(same_string(want, got), answer[:MAX_ANSWER_CHARS],
                     "correct" if same_string(want, got) else "parse_failure")
    try:
        gold_parsed = parse(as_boxed(want), raise_on_error=True)
        pred_parsed = parse(as_boxed(got), raise_on_error=True)
        ok = bool(pred_parsed) and verify(gold_parsed, pred_parsed, raise_on_error=True)
        reason = ("truncated" if truncated else "mismatch" if pred_parsed else "parse_failure")
    except TimeoutException:
        ok, reason = False, "timeout"
    except Exception:  # math-verify raises many sympy errors on odd input: that input is unparseable
        ok, reason = False, "parse_failure"
    if ok or same_string(want, got):
        return Grade(True, answer, "correct")
    return Grade(False, answer, reason)


def as_boxed(answer: str) -> str:
    answer = str(answer).strip()
    return answer if "\\boxed" in answer else f"\\boxed{{{answer}}}"


@cache
def grader_versions() -> dict[str, str]:
    """The installed versions of the packages that decide a grade, for the metrics of every graded result."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in GRADER_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
