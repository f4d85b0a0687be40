"""The synthetic teacher: correct worked solutions written in one of four styles, offline.

It stands in for real LLM teachers in the embedded default so that the study runs on a
laptop. The styles differ the way the paper's teachers do:
- long:  long chain-of-thought, reflective ("Wait, let me check"), verification and an
         alternative route; several times longer than short.
- short: a few terse steps.
- large: dense, advanced notation (a strong teacher skipping what it finds obvious).
- small: elementary, every step spelled out (a weak teacher).
With probability `error_rate` the final answer is made wrong, so rejection filtering has work.
Everything it writes is labelled synthetic.
"""

from __future__ import annotations

import random
import zlib

from .solvers import Solution, Unsolvable, solve
from .base import GenRequest, GenResult, Sampling


class SyntheticBackend:
    def __init__(self, style: str, error_rate: float = 0.0):
        if style not in RENDER:
            raise ValueError(f"unknown synthetic style {style!r}; choose one of: {', '.join(RENDER)}")
        self.style = style
        self.error_rate = error_rate

    @classmethod
    def from_teacher(cls, cfg) -> "SyntheticBackend":
        return cls(style=cfg.style, error_rate=cfg.error_rate)

    def identity(self) -> dict:
        return {"model": f"synthetic-{self.style}", "error_rate": self.error_rate}

    def describe(self) -> dict:
        return {"backend": "synthetic", "model": f"synthetic-{self.style}", "style": self.style,
                "error_rate": self.error_rate, "synthetic": True}

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]:
        return [self._one(r, sampling.seed) for r in requests]

    def _one(self, req: GenRequest, seed: int) -> GenResult:
        rng = random.Random(zlib.crc32(f"{seed}:{self.style}:{req.key}".encode()))
        try:
            sol = solve(req.problem)
        except Unsolvable as exc:
            return GenResult(f"I could not solve this problem ({exc}).", "stop")
        answer = sol.answer
        if rng.random() < self.error_rate:
            answer = _wrong(answer, rng)
        text = RENDER[self.style](sol, answer, rng)
        return GenResult(text, "stop", len(text.split()))


def _wrong(answer: str, rng: random.Random) -> str:
    try:
        return str(int(answer) + rng.choice([-10, -2, -1, 1, 2, 10]))
    except ValueError:
        return answer + "1"


def _final(answer: str) -> str:
    return f"Final Answer: \\boxed{{{answer}}}"


def _steps_plain(sol: Solution, answer: str) -> list[str]:
    lines = [f"{w} = {r}" if r else w for w, r in sol.steps]
    if sol.steps and sol.answer != answer:  # an injected error shows in the last step too
        w, _ = sol.steps[-1]
        lines[-1] = f"{w} = {answer}" if sol.kind != "words" else lines[-1]
    return lines


def render_short(sol: Solution, answer: str, rng: random.Random) -> str:
    lines = _steps_plain(sol, answer)
    if sol.kind == "words":
        lines = [ln for ln in lines if "=" in ln] or lines
    return "\n".join(lines + [_final(answer)])


def render_large(sol: Solution, answer: str, rng: random.Random) -> str:
    dense = sol.dense if sol.answer == answer else sol.dense.rsplit(" ", 1)[0] + f" {answer}"
    lead = "" if sol.kind == "words" else rng.choice(["", "Directly: ", "Compactly, ", "Note that "])
    return f"{lead}{dense}.\n{_final(answer)}"


def render_small(sol: Solution, answer: str, rng: random.Random) -> str:
    intro = rng.choice(["Let's solve this step by step.", "We will go slowly, one step at a time."])
    lines = [intro, f"We need to find {sol.statement}." if sol.kind != "words" else "We read the problem carefully."]
    for i, text in enumerate(_steps_plain(sol, answer), 1):
        lines.append(f"Step {i}: {text}.")
    lines.append(f"So the answer is {answer}.")
    return "\n".join(lines + [_final(answer)])


_OPENERS = [
    "Okay, so I need to work out {s}. Let me think carefully.",
    "Alright, let me figure out {s} step by step.",
    "Hmm, let me see. The task is {s}.",
]
_FIRST = ["First, {w}. That gives {r}.", "Let me start with {w}, which is {r}.", "To begin, {w} = {r}."]
_NEXT = ["Then {w}. So that's {r}.", "Next, {w} = {r}.", "Now {w}. Hmm, that gives {r}.", "After that, {w} equals {r}."]
_WAIT = ["Wait, let me double-check that.", "Wait, I should verify this before I answer.", "Hold on, let me check that again."]
_ALT = ["Alternatively, I could do it another way:", "Let me also try a different route to be sure:"]


def render_long(sol: Solution, answer: str, rng: random.Random) -> str:
    parts = [rng.choice(_OPENERS).format(s=sol.statement if sol.kind != "words" else "this word problem")]
    steps = _steps_plain(sol, answer)
    for i, (w, r) in enumerate(sol.steps):
        if sol.kind == "words" or not r:
            parts.append(("First, " if i == 0 else "Then, ") + steps[i].rstrip(".") + ".")
            continue
        shown = answer if (i == len(sol.steps) - 1 and sol.answer != answer) else r
        parts.append(rng.choice(_FIRST if i == 0 else _NEXT).format(w=w, r=shown))
    parts.append(rng.choice(_WAIT))
    if sol.check and sol.answer == answer:
        parts += sol.check
    else:
        parts.append(f"Going back over each step, every calculation holds, so I get {answer}.")
    if sol.alternative:
        parts.append(rng.choice(_ALT))
        parts += sol.alternative
        parts.append(f"Both ways agree, so the answer is {answer}.")
    else:
        parts.append(f"Yes, I'm confident the answer is {answer}.")
    return "\n\n".join(parts) + "\n\n" + _final(answer)


RENDER = {"long": render_long, "short": render_short, "large": render_large, "small": render_small}
