import ast
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlens.expressions import ExpressionError, check_expression, parse_expression


@pytest.mark.parametrize("text, value", [
    ("0.2*(L-1)", 0.2 * 9), ("0.01*(q-1)*(L-1)", 0.01 * 20 * 9), ("16", 16.0), ("-(3)/2", -1.5),
    ("1e-2 * L", 0.1), (".5+q", 21.5), ("2*-L", -20.0), (7, 7.0),
])
def test_documented_forms(text, value):
    assert parse_expression(text, {"L": 10, "q": 21}) == pytest.approx(value)


@pytest.mark.parametrize("text, message", [
    ("9**9**9**9", "expected a number"), ("1/0", "division by zero"), ("((", "unexpected end"),
    ("abs(1)", "unknown name 'abs'"), ("__import__('os')", "unexpected character"),
    ("__import__", "unknown name"), ("1e999", "not finite"),
    ("L L", "unexpected 'L'"), ("", "empty"), ("2;3", "unexpected character"), ("x" * 300, "longer"),
    ("(" * 150 + "1" + ")" * 150, "longer"),
])
def test_malformed_refused(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text, {"L": 10, "q": 21}, name="--lambda-j")


def test_bounds():
    with pytest.raises(ExpressionError, match=r"--lambda-j: value -5 is outside \[0, inf\]"):
        parse_expression("-5", name="--lambda-j", low=0)
    with pytest.raises(ExpressionError, match="outside"):
        parse_expression("L", {"L": 0}, low=0, low_inclusive=False)
    check_expression("0.2*(L-1)", {"L": 100}, low=0)
    with pytest.raises(ExpressionError):
        check_expression(-1.0, {"L": 100}, low=0)
    with pytest.raises(ExpressionError, match="outside"):  # a formula is bounded at the example too
        check_expression("5-L", {"L": 100}, low=0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.eE+-*/() qLx_", max_size=60))
def test_any_text_is_a_value_or_a_clear_error(text):
    try:
        value = parse_expression(text, {"q": 3, "L": 7})
    except ExpressionError as exc:
        assert str(exc).startswith("expression:")
    else:
        assert math.isfinite(value)


def test_no_eval_exec_or_compile_in_the_package():
    import seqlens

    calls = []
    for path in Path(seqlens.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("eval", "exec", "compile", "__import__")):
                calls.append(f"{path.name}:{node.lineno} {node.func.id}")
    assert calls == []
