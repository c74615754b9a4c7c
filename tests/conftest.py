from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference data folder ../shared/data (skips when absent)."""
    if not SHARED.exists():
        pytest.skip(f"{SHARED} not found")
    return SHARED


def _interrupted_after(seconds: float, call) -> float:
    """Run ``call`` with a Ctrl-C (KeyboardInterrupt from a timer signal) after ``seconds``;
    returns how long it took to stop. Fails if ``call`` finishes or swallows the interrupt."""
    import signal
    import time

    def ctrl_c(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, ctrl_c)
    t0 = time.perf_counter()
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return time.perf_counter() - t0


@pytest.fixture
def interrupted_after():
    """``interrupted_after(seconds, call)``: how long ``call`` took to stop after a Ctrl-C."""
    return _interrupted_after


@pytest.fixture
def run_cli(capsys):
    """``run_cli(argv, folder)``: ``seqlens.cli.main`` in-process -> ``(exit code, stdout, stderr,
    files added under folder)``; argparse's usage errors count as their exit code."""
    from seqlens.cli import main

    def run(argv, folder: Path):
        before = set(folder.rglob("*"))
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        cap = capsys.readouterr()
        return code, cap.out, cap.err, set(folder.rglob("*")) - before

    return run
