import threading
import time

import cv2
import pytest
import torch

from engine.errors import SaviourError
from realtime.pipeline.workers import InOrder, threads_per_worker


def test_results_come_back_in_submission_order_when_later_work_finishes_first():
    def slow_then_fast(delay, value):
        time.sleep(delay)
        return value, threading.current_thread().name

    with InOrder(slow_then_fast, workers=2) as work:
        work.submit(0.2, "first")
        work.submit(0.0, "second")
        assert work.full
        first, second = work.next(), work.next()
    assert (first[0], second[0]) == ("first", "second")
    assert first[1] != second[1]          # they ran at the same time, on two threads


def test_one_worker_runs_on_the_callers_thread_and_errors_surface_in_order():
    def check(value):
        if value < 0:
            raise ValueError(f"negative {value}")
        return threading.current_thread() is threading.main_thread()

    work = InOrder(check, workers=1)
    work.submit(1)
    work.submit(-1)
    assert work.next() is True
    with pytest.raises(ValueError, match="negative -1"):
        work.next()


def test_bad_worker_count_and_thread_sharing():
    with pytest.raises(SaviourError, match="workers"):
        InOrder(print, workers=0)
    before, before_cv = torch.get_num_threads(), cv2.getNumThreads()
    with threads_per_worker(max(before, before_cv) * 2):
        assert torch.get_num_threads() == 1 and cv2.getNumThreads() == 1
    assert torch.get_num_threads() == before and cv2.getNumThreads() == before_cv
