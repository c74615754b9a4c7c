"""Kill tests: ``seqlens study`` stopped by SIGINT or SIGKILL leaves the previous complete output
untouched and only ``<out>.partial/`` beside it; SIGINT stops it within seconds (exit 130, one
line), even when the run was started with SIGINT ignored (``seqlens study &`` from a script);
``--resume`` then completes, keeping the sections that had finished.

The runs are real subprocesses at the hidden ``--tiny`` settings (only the machinery is tested).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from seqlens.cli import main
from seqlens.io.atomic import check_output_folder

# as a job started with `&` from a script: SIGINT arrives ignored
CHILD = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
         "from seqlens.cli import main; sys.exit(main(sys.argv[1:]))")


def _start(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", CHILD, "study", "--tiny", "--device", "cpu", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=60):
    start = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {path} appeared: "
                        f"{proc.communicate()[1][-500:]}")
        if time.monotonic() - start > timeout:
            proc.kill()
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A complete earlier output at --out, and its manifest."""
    out = tmp_path_factory.mktemp("kill") / "study"
    assert main(["study", "--tiny", "--only", "robust", "--device", "cpu", "--quiet",
                 "--out", str(out)]) == 0
    return out, (out / "manifest.json").read_bytes()


def _assert_untouched(out, manifest):
    assert (out / "manifest.json").read_bytes() == manifest
    check_output_folder(out, verify=True)  # every file as the earlier run wrote it
    assert sorted(p.name for p in out.parent.iterdir()) == ["study", "study.partial"]


def test_sigint_stops_within_seconds_leaving_only_partial(earlier):
    out, manifest = earlier
    proc = _start("--only", "robust", "--out", str(out))
    _wait_for(out.parent / "study.partial" / "study.json", proc)  # the run's first file
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("SIGINT did not stop the study within 30 s")
    assert time.monotonic() - sent < 15
    assert proc.returncode == 130
    lines = err.strip().splitlines()
    assert lines == [f"seqlens study: interrupted; unfinished output kept in {out}.partial (rerun "
                     "with --resume to continue, or without to start over)"]
    _assert_untouched(out, manifest)


def test_sigkill_then_resume_keeps_finished_sections(earlier, capsys):
    out, manifest = earlier
    partial = out.parent / "study.partial"
    # a fresh run (no --resume) starts over: nothing of the interrupted run above is kept
    proc = _start("--only", "robust", "--only", "design", "--out", str(out))
    _wait_for(partial / "sections" / "robust.json", proc)  # the first section finished
    proc.kill()
    log = proc.communicate(timeout=30)[0]
    assert "section robust\n" in log and "kept" not in log
    _assert_untouched(out, manifest)
    robust_done = (partial / "sections" / "robust.json").read_bytes()

    # other options are refused, the unfinished run stays as it was
    assert main(["study", "--tiny", "--only", "robust", "--only", "design", "--seed", "1",
                 "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--seed 0" in err and "--seed 1" in err
    assert (partial / "sections" / "robust.json").read_bytes() == robust_done

    assert main(["study", "--tiny", "--only", "robust", "--only", "design", "--device", "cpu",
                 "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "section robust: finished by the interrupted run, kept" in printed
    assert "section design\n" in printed
    assert not partial.exists()
    info = check_output_folder(out, verify=True)
    assert {"sections/robust.json", "sections/design.json", "report/tables/robust_training.csv",
            "report/tables/pool_size_sweep.csv"} <= set(info["files"])
    assert (out / "sections" / "robust.json").read_bytes() == robust_done
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sections_kept_from_interrupted_run"] == 1
    assert 0.0 <= metrics["robust_standard_test_auroc"] <= 1.0
    assert "design_pool25_match_fraction" in metrics
    page = (out / "report" / "index.html").read_text()
    assert "3. Robust training" in page and "1. Design principles" in page


def test_resumed_run_loads_the_models_it_trained(tmp_path, capsys):
    import torch

    from seqlens.study.context import StudyContext

    first = StudyContext(tmp_path, mode="tiny", device="cpu")
    data = first.dataset("regulatory_code")
    trained = first.trained("m", data, "cnn_local", activation="relu")
    again = StudyContext(tmp_path, mode="tiny", device="cpu")
    loaded = again.trained("m", data, "cnn_local", activation="relu")
    assert "m: trained by the interrupted run, loaded from" in capsys.readouterr().out
    assert again.scores("m") == pytest.approx(first.scores("m"))
    for (name, a), b in zip(trained.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    # a checkpoint cut short is trained again, not loaded
    weights = tmp_path / "models" / "m" / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:100])
    third = StudyContext(tmp_path, mode="tiny", device="cpu")
    third.trained("m", data, "cnn_local", activation="relu")
    assert "training m" in capsys.readouterr().out
    assert 0.0 <= third.scores("m")["test_auroc"] <= 1.0
