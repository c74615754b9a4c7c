"""The CLI's default torch thread count follows the idle cores, so a busy machine is not
oversubscribed by spinning OpenMP threads."""

import os

import pytest
import torch

from seqlens.cli import common


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("cores", "load", "expected"), [(2, 0.1, 2), (2, 7.9, 1), (8, 3.2, 5), (4, 4.6, 1)])
def test_idle_cores_is_cores_minus_load_at_least_one(monkeypatch, cores, load, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    assert common.idle_cores() == (expected, load)


def test_default_threads_on_a_busy_machine_is_one_and_says_so(monkeypatch, capsys, restore_threads):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    torch.set_num_threads(2)
    assert common.set_torch_threads(None) == 1 and torch.get_num_threads() == 1
    assert "using 1 CPU thread(s): the machine is busy (load average 9.0)" in capsys.readouterr().out


def test_explicit_threads_win_silently(monkeypatch, capsys, restore_threads):
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    assert common.set_torch_threads(2) == 2 and torch.get_num_threads() == 2
    assert capsys.readouterr().out == ""
