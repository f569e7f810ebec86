"""The investigation's Kubernetes probes share one lookup of the workload and its pods."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tools import kubernetes


def test_concurrent_callers_share_one_computation() -> None:
    calls = []
    gate = threading.Event()

    def compute() -> str:
        calls.append(1)
        gate.wait(5)
        return "answer"

    key = ("test-share", object())
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(kubernetes._share, key, compute) for _ in range(6)]
        time.sleep(0.2)
        gate.set()
        answers = [f.result(timeout=5) for f in futures]
    assert answers == ["answer"] * 6
    assert len(calls) == 1


def test_a_failure_is_not_kept() -> None:
    key = ("test-failure", object())
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("API down")
        return "recovered"

    with pytest.raises(RuntimeError, match="API down"):
        kubernetes._share(key, flaky)
    assert kubernetes._share(key, flaky) == "recovered"


def test_an_answer_older_than_the_share_window_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubernetes, "SHARE_S", 0.05)
    key = ("test-expiry", object())
    values = iter(["first", "second"])
    assert kubernetes._share(key, lambda: next(values)) == "first"
    assert kubernetes._share(key, lambda: next(values)) == "first"
    time.sleep(0.1)
    assert kubernetes._share(key, lambda: next(values)) == "second"
