"""Section 6 retrains on the CPU with the zoo build's single thread and restores the caller's."""

import torch

from seqlens.study.reproduce import _build_threads, retrain_plan
from seqlens.study.zoo import ENTRIES, SEEDS


def test_cpu_retraining_uses_one_thread_and_restores_the_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with _build_threads("cpu"):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


class _Ctx:
    def __init__(self, retrain):
        self.settings = {"retrain": retrain}


def test_retrain_plan_default_subset_and_all():
    assert retrain_plan(_Ctx(("regcode_cnn_local_relu",))) == [("regcode_cnn_local_relu", 0)]
    plan = retrain_plan(_Ctx("all"))
    assert len(plan) == len(ENTRIES) * len(SEEDS) and plan[0][1] == 0 and plan[-1][1] == SEEDS[-1]
