"""Arithmetic expressions in options such as ``--lambda-j 0.2*(L-1)``, without ``eval``.

The grammar is the documented one and nothing more: numbers (``12``, ``0.5``, ``1e-2``), named
variables given by the caller (e.g. ``q`` and ``L``), ``+ - * /``, unary minus and parentheses.
There is no power operator, no function call and no attribute access, so a value can neither run
code nor take unbounded time: parsing is linear in the length of the text, which is capped.
"""

from __future__ import annotations

import math
import re

from seqlens.errors import SeqlensError

MAX_LENGTH = 200
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(.))")


class ExpressionError(SeqlensError):
    """An option's expression is malformed, uses an unknown name, or is out of bounds."""


def _tokens(text: str, name: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for number, ident, other in _TOKEN.findall(text):
        if number:
            out.append(("num", float(number)))
        elif ident:
            out.append(("name", ident))
        elif other.strip():
            if other not in "+-*/()":
                raise ExpressionError(f"{name}: unexpected character {other!r} in {text!r}; "
                                      "allowed: numbers, variables, + - * / ( )")
            out.append(("op", other))
    return out


class _Parser:
    """Recursive descent over ``expr := term (('+'|'-') term)*``, ``term := unary (('*'|'/')
    unary)*``, ``unary := '-' unary | '+' unary | atom``, ``atom := number | name | '(' expr ')'``."""

    def __init__(self, tokens, variables: dict[str, float], text: str, name: str):
        self.tokens, self.variables, self.text, self.name = tokens, variables, text, name
        self.pos = 0

    def fail(self, why: str):
        raise ExpressionError(f"{self.name}: {why} in {self.text!r}")

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def expr(self) -> float:
        value = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> float:
        value = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            rhs = self.unary()
            if op == "/" and rhs == 0:
                self.fail("division by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def unary(self) -> float:
        if self.peek() in (("op", "-"), ("op", "+")):
            sign = -1.0 if self.take()[1] == "-" else 1.0
            return sign * self.unary()
        return self.atom()

    def atom(self) -> float:
        kind, value = self.take()
        if kind == "num":
            return value
        if kind == "name":
            if value not in self.variables:
                known = ", ".join(sorted(self.variables)) or "none"
                self.fail(f"unknown name {value!r} (known: {known})")
            return float(self.variables[value])
        if (kind, value) == ("op", "("):
            inner = self.expr()
            if self.take() != ("op", ")"):
                self.fail("missing ')'")
            return inner
        self.fail("expected a number, a name or '('" if kind else "unexpected end")


def parse_expression(text: str | float | int, variables: dict[str, float] | None = None, *,
                     name: str = "expression", low: float = -math.inf, high: float = math.inf,
                     low_inclusive: bool = True) -> float:
    """Evaluate ``text`` (or pass a number through) and check ``low <= value <= high``.

    ``variables`` maps the allowed names to their values. Raises :class:`ExpressionError` with
    ``name`` (e.g. the option ``--lambda-j``) for malformed text, unknown names, division by
    zero, non-finite values and values out of bounds.
    """
    if isinstance(text, bool):
        raise ExpressionError(f"{name}: expected a number, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        text = str(text)
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"{name}: expression longer than {MAX_LENGTH} characters")
        tokens = _tokens(text, name)
        if not tokens:
            raise ExpressionError(f"{name}: empty expression")
        parser = _Parser(tokens, dict(variables or {}), text, name)
        value = parser.expr()
        if parser.pos != len(tokens):
            parser.fail(f"unexpected {tokens[parser.pos][1]!r}")
    if not math.isfinite(value):
        raise ExpressionError(f"{name}: value {value} is not finite")
    below = value < low if low_inclusive else value <= low
    if below or value > high:
        lo = "[" if low_inclusive else "("
        raise ExpressionError(f"{name}: value {value:g} is outside {lo}{low:g}, {high:g}]")
    return value


def check_expression(text: str | float | int, example: dict[str, float], name: str = "expression",
                     low: float = -math.inf) -> None:
    """Validate an option before its variables' values are known (as when it is checked before
    the input is read): syntax, names, and the bounds at ``example`` values of the variables (the
    real values are checked again when they are known)."""
    parse_expression(text, example, name=name, low=low)
