"""The CLI's one error boundary: every failure is one line with a known exit code."""

import argparse
import warnings

import pytest

import seqlens.cli as cli
from seqlens.errors import FormatError
from seqlens.io.atomic import output_folder


def _with_command(monkeypatch, func):
    real = cli.build_parser

    def build():
        parser = real()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        p = sub.add_parser("boom")
        p.add_argument("--out")
        p.set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


def _run(capsys, argv):
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def test_bad_input_is_one_line_exit_2(monkeypatch, capsys):
    def func(args):
        raise FormatError("in/x.fa, line 3: bad\nthing")
    _with_command(monkeypatch, func)
    code, lines = _run(capsys, ["boom"])
    assert code == 2 and lines == ["seqlens boom: error: in/x.fa, line 3: bad thing"]


def test_os_errors_name_the_file(monkeypatch, capsys, tmp_path):
    def func(args):
        open(tmp_path)  # a directory
    _with_command(monkeypatch, func)
    code, lines = _run(capsys, ["boom"])
    assert code == 2 and lines == [f"seqlens boom: error: {tmp_path}: Is a directory"]


def test_bug_is_one_line_asking_for_a_report_and_debug_shows_traceback(monkeypatch, capsys):
    def func(args):
        return {}["missing"]
    _with_command(monkeypatch, func)
    code, lines = _run(capsys, ["boom", "--out", "x y"])
    assert code == 1 and len(lines) == 1
    assert "internal error (KeyError" in lines[0] and "`seqlens boom --out 'x y'`" in lines[0]
    with pytest.raises(KeyError):
        cli.main(["boom", "--debug"])


def test_interrupt_keeps_partial_and_says_where(monkeypatch, capsys, tmp_path):
    def func(args):
        with output_folder(args.out) as work:
            (work / "a").write_text("x")
            raise KeyboardInterrupt
    _with_command(monkeypatch, func)
    code, lines = _run(capsys, ["boom", "--out", str(tmp_path / "run")])
    assert code == 130 and len(lines) == 1
    assert f"{tmp_path / 'run.partial'}" in lines[0] and "--resume" in lines[0]
    assert not (tmp_path / "run").exists() and (tmp_path / "run.partial" / "a").exists()


def test_usage_errors_and_warnings_are_one_line(monkeypatch, capsys):
    def func(args):
        warnings.warn("3 of 10 rows skipped\n(wrong wild type)", stacklevel=1)
        return 0
    _with_command(monkeypatch, func)
    code, lines = _run(capsys, ["boom"])
    assert code == 0 and lines == ["seqlens: warning: 3 of 10 rows skipped (wrong wild type)"]
    with pytest.raises(SystemExit) as exc:
        cli.main(["msa", "sample", "--model", "m", "--out", "o.fa", "--n", "x"])
    assert exc.value.code == 2
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("seqlens msa sample: error: argument --n")
