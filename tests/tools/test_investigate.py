"""The investigate step: probes fan out in parallel under the timeout and budget; the plan against real backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.models import Evidence
from tests.tools import backends
from tools.investigation import Probe, gather, plan
from tools.result import result


def sleeper(name: str, seconds: float, release: threading.Event | None = None) -> Probe:
    def call() -> Evidence:
        if release is not None:
            release.wait(seconds)
        else:
            time.sleep(seconds)
        return result(name, "ok", f"sleep {seconds}", data={"slept": seconds})

    return Probe(name, f"sleep {seconds}", call)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # lets the abandoned threads of hanging probes finish


async def test_five_tools_of_one_second_take_under_two_seconds() -> None:
    started = time.monotonic()
    found = await gather([sleeper(f"t{i}", 1.0) for i in range(5)], timeout_s=5, budget_s=10)
    assert time.monotonic() - started < 2
    assert [e.status for e in found] == ["ok"] * 5
    assert [e.tool for e in found] == [f"t{i}" for i in range(5)]
    assert all(e.duration_ms >= 1000 for e in found)


async def test_more_tools_than_cpus_still_run_at_once() -> None:
    started = time.monotonic()
    found = await gather([sleeper(f"t{i}", 0.5) for i in range(40)], timeout_s=5, budget_s=10)
    assert time.monotonic() - started < 1.5
    assert {e.status for e in found} == {"ok"}


async def test_a_hanging_tool_is_cut_off_at_its_timeout_and_reported(release: threading.Event) -> None:
    started = time.monotonic()
    found = await gather([sleeper("fast", 0.1), sleeper("hangs", 60, release)], timeout_s=0.5, budget_s=10)
    assert time.monotonic() - started < 1.5
    fast, hangs = found
    assert fast.status == "ok"
    assert (hangs.status, hangs.tool, hangs.query) == ("error", "hangs", "sleep 60")
    assert "timed out after 0.5 s" in hangs.error


async def test_the_overall_budget_cuts_off_what_is_still_running(release: threading.Event) -> None:
    started = time.monotonic()
    found = await gather([sleeper("slow", 60, release), sleeper("quick", 0.1)], timeout_s=30, budget_s=0.5)
    assert time.monotonic() - started < 1.5
    assert [e.status for e in found] == ["error", "ok"]
    assert "budget" in found[0].error


async def test_a_tool_that_raises_becomes_an_error() -> None:
    def boom() -> Evidence:
        raise RuntimeError("kaput")

    [found] = await gather([Probe("boom", "q", boom)], timeout_s=1, budget_s=1)
    assert (found.status, found.error) == ("error", "RuntimeError: kaput")


@pytest.mark.prometheus
async def test_the_plan_gathers_every_source_against_the_local_backends(tmp_path: Path) -> None:
    with backends.scenario_backends(tmp_path) as running:
        settings = running.settings()
        incident = backends.incident("summarizer")
        ctx = running.context(incident, settings)
        probes = plan(incident, ctx)
        started = time.monotonic()
        found = await gather(probes, timeout_s=settings.tool_timeout_s, budget_s=settings.investigate_budget_s)
        took = time.monotonic() - started
    statuses = {(e.tool, e.query.split(" ")[1] if e.tool == "provider_status" else ""): e.status for e in found}
    by_tool = {e.tool: e for e in found}
    assert statuses[("llm_signals", "")] == "ok"
    assert statuses[("changes", "")] == "ok"
    assert statuses[("logs.cloudwatch", "")] == "ok"
    assert statuses[("gateway", "")] == "ok"
    assert statuses[("prometheus", "")] == "ok"
    assert {s for (tool, _), s in statuses.items() if tool == "provider_status"} == {"ok"}
    assert by_tool["kubernetes.workload"].status == "no_data"  # summarizer has no Deployment in the emulator
    assert [c["to"] for c in by_tool["changes"].data["changes"]] == ["v13"]
    assert all(e.status != "error" for e in found), [(e.tool, e.error) for e in found if e.status == "error"]
    assert took < settings.investigate_budget_s


@pytest.mark.prometheus
async def test_the_plan_for_an_infra_alert_reads_the_workload(tmp_path: Path) -> None:
    with backends.scenario_backends(tmp_path) as running:
        incident = backends.incident("api", "KubePodCrashLooping")
        ctx = running.context(incident, running.settings())
        found = {e.tool: e for e in await gather(plan(incident, ctx), timeout_s=5, budget_s=20)}
        writes = running.kube.writes()
    assert found["kubernetes.pods"].status == "ok"
    assert found["kubernetes.rollouts"].data["current_revision"] == 2
    assert found["logs.kubernetes"].status == "ok"
    infra = {s["signal"] for s in found["infra_signals"].data["signals"]}
    assert {"restarts", "oom_kills", "node_conditions"} <= infra
    assert writes == []


def test_without_clients_every_probe_says_not_configured(tmp_path: Path) -> None:
    from agent.audit import AuditLog, Redactor
    from agent.context import Clients, Context
    from agent.settings import load_settings
    from agent.store.sqlite import SqliteStore

    settings = load_settings(env={}, data_dir=tmp_path, provider_status_urls={"openai": "http://127.0.0.1:9"})
    store = SqliteStore(tmp_path / "s.db")
    incident = backends.incident("summarizer")
    ctx = Context(settings, store, AuditLog(store, Redactor([], [])), Clients(), incident.id, incident.instant,
                  clock=lambda: incident.instant)
    probes = plan(incident, ctx)
    found = [p.call() for p in probes]
    store.close()
    assert {p.tool for p in probes} >= {"llm_signals", "infra_signals", "kubernetes.pods", "provider_status"}
    assert all(e.status in ("error", "no_data") for e in found)
    assert all("not configured" in e.error for e in found if e.tool.startswith(("kubernetes", "logs")))
