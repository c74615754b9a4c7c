import json
import os
import stat

import pytest

from seqlens.errors import SeqlensError
from seqlens.io.atomic import (
    OutputError,
    check_output_folder,
    output_file,
    output_folder,
    partial_path,
    write_json,
)


def _run(out, files, fail=None, resume=False):
    with output_folder(out, resume=resume, command=["seqlens", "test"]) as work:
        for name, text in files.items():
            (work / name).write_text(text)
            if fail == name:
                raise KeyboardInterrupt
    return out



def test_publishes_whole_with_manifest(tmp_path):
    out = _run(tmp_path / "run", {"a.txt": "1", "b.txt": "22"})
    info = check_output_folder(out, verify=True)
    assert info["command"] == ["seqlens", "test"]
    assert info["files"]["b.txt"]["bytes"] == 2
    assert not partial_path(out).exists()


def test_interrupted_run_leaves_previous_output_and_partial(tmp_path):
    out = _run(tmp_path / "run", {"a.txt": "old"})
    with pytest.raises(KeyboardInterrupt):
        _run(out, {"a.txt": "new", "b.txt": "x"}, fail="b.txt")
    assert (out / "a.txt").read_text() == "old" and not (out / "b.txt").exists()
    assert (partial_path(out) / "b.txt").exists()
    check_output_folder(out)
    # --resume keeps the partial work; a fresh run starts over
    with output_folder(out, resume=True) as work:
        assert (work / "b.txt").read_text() == "x"
    assert (out / "b.txt").read_text() == "x" and (out / "a.txt").read_text() == "new"
    with pytest.raises(KeyboardInterrupt):
        _run(out, {"c.txt": "1"}, fail="c.txt")
    with output_folder(out) as work:
        assert list(work.iterdir()) == []
        (work / "d.txt").write_text("d")
    assert sorted(p.name for p in out.iterdir()) == ["d.txt", "manifest.json"]


def test_bad_input_leaves_nothing(tmp_path):
    with pytest.raises(SeqlensError):
        with output_folder(tmp_path / "run") as work:
            (work / "a.txt").write_text("1")
            raise SeqlensError("bad input")
    assert list(tmp_path.iterdir()) == []


def test_readers_refuse_incomplete_or_changed_folders(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(OutputError, match="no manifest.json"):
        check_output_folder(tmp_path / "x")
    out = _run(tmp_path / "run", {"a.txt": "1"})
    (out / "a.txt").write_text("12")
    with pytest.raises(OutputError, match="changed since"):
        check_output_folder(out)
    (out / "a.txt").write_text("2")
    with pytest.raises(OutputError, match="changed since"):
        check_output_folder(out, verify=True)
    (out / "a.txt").unlink()
    with pytest.raises(OutputError, match="missing"):
        check_output_folder(out)


def test_out_paths_checked_before_work(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="existing file"):
        with output_folder(tmp_path / "file"):
            pass
    with pytest.raises(OutputError, match="is a file"):
        with output_folder(tmp_path / "file" / "sub"):
            pass
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(OutputError, match="not a complete seqlens output"):
        with output_folder(tmp_path / "mine"):
            pass
    with pytest.raises(OutputError, match="existing folder"):
        with output_file(tmp_path / "mine"):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine"]


def test_output_file_moves_sidecars_first(tmp_path):
    out = tmp_path / "pred.csv"
    with output_file(out) as work:
        (work / "pred.csv").write_text("a\n")
        write_json(work / "pred.csv.metrics.json", {"x": float("nan")})
    assert out.read_text() == "a\n"
    assert json.loads((tmp_path / "pred.csv.metrics.json").read_text()) == {"x": None}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv", "pred.csv.metrics.json"]


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
