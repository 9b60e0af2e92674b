"""The dashboard's diagnosis never goes back in time: a background assessment of older polls
that ends after ``run(wait=True)`` assessed newer ones is dropped, not applied over it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import ipsecctl.tui.diagnosing as diagnosing
from ipsecctl.tui.app import DashboardContext, IpsecApp

from .helpers import all_polled, wait_for


async def test_a_late_background_assessment_does_not_replace_a_newer_one(
    replay_ctx: DashboardContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_assess = diagnosing.assess
    gate = threading.Event()
    results: dict[str, Any] = {}

    def assess(*args: Any, **kwargs: Any) -> Any:
        found = real_assess(*args, **kwargs)
        if threading.current_thread().name == "ipsecctl-diagnosis" and "background" not in results:
            results["background"] = found
            gate.wait(20)  # held until the waited-for run has been applied
        else:
            results.setdefault("waited", found)
        return found

    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        doctor = app.diagnoser
        await wait_for(pilot, lambda: not doctor.running, what="the first diagnosis")
        monkeypatch.setattr(diagnosing, "assess", assess)
        doctor.next_at = 0.0
        doctor.run()  # in the background, held at the gate
        await wait_for(pilot, lambda: "background" in results, what="the background run")
        doctor.run(wait=True)
        assert doctor.assessment is results["waited"]
        gate.set()
        # the thread ends only once the UI thread has taken its result (call_from_thread)
        await wait_for(
            pilot,
            lambda: not any(t.name == "ipsecctl-diagnosis" for t in threading.enumerate()),
            what="the background run's end",
        )
        assert doctor.assessment is not results["background"]
