"""Exact step-by-step solutions for the reasoning-gym tasks the synthetic teacher covers.

Pure: a problem record in, a `Solution` out. Steps are (left, right) pairs such as
("5 - 3", "2"); `check` holds a verification route and `alternative` a second way
to the same answer, which the long-CoT style spells out.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import UnsupportedTask


class Unsolvable(ValueError):
    """One problem of a supported task could not be solved (degenerate input)."""


@dataclass
class Solution:
    statement: str  # the thing to compute, restated
    steps: list[tuple[str, str]]  # (work, result)
    dense: str  # one-line expert derivation
    answer: str
    check: list[str] = field(default_factory=list)  # sentences verifying the answer
    alternative: list[str] = field(default_factory=list)  # sentences of a second route
    kind: str = "compute"  # compute | solve | words


def _fmt(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    return f"{x.numerator}/{x.denominator}"


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return -inner if inner is not None else None
    return None


def _normalise(node):
    """Turn constants into Fractions, keep BinOps."""
    lit = _literal(node)
    if lit is not None:
        return lit
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _Bin(_normalise(node.left), _OPS[type(node.op)], _normalise(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _Neg(_normalise(node.operand))
    raise Unsolvable(f"unsupported expression: {ast.unparse(node)}")


@dataclass
class _Bin:
    left: object
    op: str
    right: object


@dataclass
class _Neg:
    operand: object


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def _render(node, parent_op: str | None = None, is_right: bool = False) -> str:
    """Infix text with only the brackets precedence needs; negative numbers bracketed inside."""
    if isinstance(node, Fraction):
        s = _fmt(node)
        return f"({s})" if parent_op and (node < 0 or "/" in s) else s
    if isinstance(node, _Neg):
        return f"-({_render(node.operand)})"
    inner = f"{_render(node.left, node.op)} {node.op} {_render(node.right, node.op, True)}"
    if parent_op is None:
        return inner
    tighter = _PREC[node.op] < _PREC[parent_op]
    same_right = is_right and _PREC[node.op] == _PREC[parent_op] and parent_op in "-/"
    return f"({inner})" if tighter or same_right else inner


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise Unsolvable("division by zero")
    return a / b


def _reduce_once(node):
    """Evaluate the leftmost innermost operation; return (new_node, (work, result))."""
    if isinstance(node, _Neg):
        if isinstance(node.operand, Fraction):
            return -node.operand, (f"-({_fmt(node.operand)})", _fmt(-node.operand))
        new, step = _reduce_once(node.operand)
        return _Neg(new), step
    if not isinstance(node.left, Fraction):
        new_left, step = _reduce_once(node.left)
        return _Bin(new_left, node.op, node.right), step
    if not isinstance(node.right, Fraction):
        new_right, step = _reduce_once(node.right)
        return _Bin(node.left, node.op, new_right), step
    value = _apply(node.op, node.left, node.right)
    work = f"{_render(node.left, node.op)} {node.op} {_render(node.right, node.op, True)}"
    return value, (work, _fmt(value))


def arithmetic_steps(expression: str) -> tuple[list[tuple[str, str]], Fraction, str]:
    tree = ast.parse(expression.replace("×", "*").replace("÷", "/"), mode="eval").body
    node = _normalise(tree)
    steps, chain = [], [_render(node)]
    while not isinstance(node, Fraction):
        node, step = _reduce_once(node)
        steps.append(step)
        chain.append(_render(node))
    return steps, node, " = ".join(chain)


def solve_arithmetic(expression: str) -> Solution:
    steps, value, chain = arithmetic_steps(expression)
    answer = _fmt(value)
    terms = _signed_terms(expression)
    check, alternative = [], []
    if terms is not None and len(terms) > 2:
        pos = [t for t in terms if t > 0]
        neg = [-t for t in terms if t < 0]
        p, n = sum(pos, Fraction(0)), sum(neg, Fraction(0))
        alternative = [
            f"Positive terms: {' + '.join(_fmt(t) for t in pos) or '0'} = {_fmt(p)}; negative terms: "
            f"{' + '.join(_fmt(t) for t in neg) or '0'} = {_fmt(n)}; so {_fmt(p)} - {_fmt(n)} = {_fmt(p - n)}."
        ]
    if steps:
        last_work, last_result = steps[-1]
        check = [f"Going backwards from {last_result}: {_inverse(last_work, last_result)}, which matches."]
    return Solution(expression, steps, chain, answer, check, alternative, "compute")


def _signed_terms(expression: str) -> list[Fraction] | None:
    if re.search(r"[*/()]", expression):
        return None
    tokens = re.findall(r"[+-]?\s*\d+(?:\.\d+)?", expression.replace(" ", ""))
    return [Fraction(t) for t in tokens] if tokens else None


def _inverse(work: str, result: str) -> str:
    m = re.fullmatch(r"(.+) ([-+*/]) (.+)", work)
    if not m:
        return f"{work} = {result}"
    a, op, b = m.groups()
    inv = {"+": "-", "-": "+", "*": "/", "/": "*"}[op]
    return f"{result} {inv} {b} = {a}"


def solve_linear(equation: str, var: str) -> Solution:
    import sympy

    lhs_s, rhs_s = equation.split("=")
    x = sympy.Symbol(var)
    lhs, rhs = sympy.sympify(lhs_s, locals={var: x}), sympy.sympify(rhs_s, locals={var: x})
    a1, b1 = sympy.Poly(lhs, x).all_coeffs() if lhs.has(x) else (0, lhs)
    a2, b2 = sympy.Poly(rhs, x).all_coeffs() if rhs.has(x) else (0, rhs)
    a, c = Fraction(str(a1 - a2)), Fraction(str(b2 - b1))
    if a == 0:
        raise Unsolvable(f"not a linear equation in {var}: {equation}")
    value = c / a
    ax = f"{_fmt(a)}*{var}" if a != 1 else var
    steps = [(f"{ax} = {_fmt(c)}, so {var} = {_fmt(c)} / {_render(a, '/')}", _fmt(value))]
    if b1 != 0:  # move the constant across first
        steps.insert(0, (f"{_fmt(Fraction(str(b2)))} - ({_fmt(Fraction(str(b1)))})", _fmt(c)))
    dense = f"{equation.strip()} ⇒ {ax} = {_fmt(c)} ⇒ {var} = {_fmt(value)}"
    lhs_at = _fmt(Fraction(str(lhs.subs(x, sympy.Rational(str(value))))))
    rhs_at = _fmt(Fraction(str(rhs.subs(x, sympy.Rational(str(value))))))
    plugged = re.sub(rf"\b{re.escape(var)}\b", f"({_fmt(value)})", lhs_s.strip())
    check = [f"Substituting {var} = {_fmt(value)} into the left side: {plugged} = {lhs_at}, and the right side is {rhs_at}."]
    alternative = [
        f"Isolating {var} in one move: {var} = ({_fmt(Fraction(str(b2)))} - ({_fmt(Fraction(str(b1)))})) / {_render(a, '/')} = {_fmt(value)}."
    ]
    return Solution(equation.strip(), steps, dense, _fmt(value), check, alternative, "solve")


def solve_gcd(numbers: list[int]) -> Solution:
    steps, g = [], numbers[0]
    for n in numbers[1:]:
        a, b = max(g, n), min(g, n)
        while b:
            steps.append((f"{a} mod {b}", str(a % b)))
            a, b = b, a % b
        g = a
    dense = f"gcd({', '.join(map(str, numbers))}) = {g} by the Euclidean algorithm"
    check = [f"{n} / {g} = {n // g}, a whole number." for n in numbers]
    alternative = [f"Listing the common divisors of {', '.join(map(str, numbers))}, the largest one is {g}."]
    return Solution(f"gcd({', '.join(map(str, numbers))})", steps, dense, str(g), check, alternative, "compute")


def solve_lcm(numbers: list[int]) -> Solution:
    steps, value = [], numbers[0]
    for n in numbers[1:]:
        g = math.gcd(value, n)
        steps.append((f"gcd({value}, {n})", str(g)))
        new = value * n // g
        steps.append((f"{value} * {n} / {g}", str(new)))
        value = new
    dense = f"lcm({', '.join(map(str, numbers))}) = {value} via lcm(a, b) = ab / gcd(a, b)"
    check = [f"{value} / {n} = {value // n}, a whole number." for n in numbers]
    alternative = [f"Stepping through multiples of {max(numbers)}, the first one that all the numbers divide is {value}."]
    return Solution(f"lcm({', '.join(map(str, numbers))})", steps, dense, str(value), check, alternative, "compute")


def solve_words(cot: str, answer: str) -> Solution:
    lines = [re.sub(r"^[\s•*\-\d.]+", "", ln).strip() for ln in cot.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#") and not ln.lower().startswith("let's solve")]
    steps = [(ln, "") for ln in lines]
    numeric = [ln for ln in lines if "=" in ln]
    dense = "; ".join(numeric) if numeric else "; ".join(lines)
    check = [f"Re-reading the question, the last step ({numeric[-1]}) is what it asks for."] if numeric else []
    return Solution("the word problem", steps, dense, answer, check, [], "words")


def solve(problem: dict) -> Solution:
    """A worked solution for a problem record (reasoning-gym tasks listed in SUPPORTED)."""
    task, meta = problem.get("task", ""), problem.get("metadata") or {}
    if task in ("chain_sum", "basic_arithmetic", "products") and "expression" in meta:
        return solve_arithmetic(meta["expression"])
    if task == "simple_equations":
        return solve_linear(meta["equation"], meta["variable"])
    if task == "gcd":
        return solve_gcd([int(n) for n in _numbers(meta["numbers"])])
    if task == "lcm":
        return solve_lcm([int(n) for n in _numbers(meta["numbers"])])
    if task == "gsm_symbolic" and meta.get("answer_cot"):
        return solve_words(meta["answer_cot"], str(problem["answer"]))
    raise UnsupportedTask(
        f"the synthetic teacher has no solver for task {task!r} (problem {problem.get('problem_id')}); "
        f"supported: {', '.join(SUPPORTED)}"
    )


SUPPORTED = ("chain_sum", "basic_arithmetic", "products", "simple_equations", "gcd", "lcm", "gsm_symbolic")


def _numbers(value) -> list:
    if isinstance(value, str):
        return re.findall(r"-?\d+", value)
    return list(value)
