"""The eval harness: replay scenarios end to end against real backends and the bot's own server and worker.

For each scenario, in order: the backends show its Kubernetes objects and status pages (`Backends.show`); a
fresh bot (store, worker, HTTP server on a free port, in-process) starts; the harness posts the scenario's
`changes` to `/changes` and its alert to `/alertmanager` with `X-Opsmedic-Instant` (the scenario's instant);
it polls the audit log until the diagnosis and the proposal are recorded and the graph has finished; then
the bot stops. A fresh store per scenario keeps change events and incidents of one scenario out of the
next one's timeline (the change rules look hours back); the backends and the runbook index are shared.

Nothing executes: the bot runs with an empty policy folder, so every proposed change is denied by the
built-in `no-rule-matched` (the eval measures what the bot concludes, not what an action does).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from agent.audit import AuditLog, Redactor
from agent.audit_seal import open_seal
from agent.clients import build_clients
from agent.context import Clients
from agent.errors import ConfigError, OpsmedicError
from agent.replay.backends import DEFAULT_GUARD, Backends, slots
from agent.replay.placement import Placed, place
from agent.replay.scenario import Scenario
from agent.replay.scoring import Outcome, score
from agent.replay.times import rfc3339
from agent.runner import Worker
from agent.server import create_app
from agent.settings import Settings, load_settings
from agent.store import Store, open_store

log = logging.getLogger(__name__)

FINISHED = {"handled", "resolved", "closed", "awaiting_approval"}
Progress = Callable[[int, int, Outcome], None]


@dataclass(frozen=True)
class EvalOptions:
    runbooks_dir: Path = Path("runbooks")
    embedding_model_dir: Path | None = None
    timeout_s: float = 30.0
    """How long one scenario may take from the alert to the end of the graph."""
    poll_s: float = 0.1
    """How often the harness reads the audit log. Latency comes from the records' own times, so a slower poll
    costs no precision and leaves the in-process worker more CPU."""
    guard_s: float = DEFAULT_GUARD.total_seconds()
    index_dir: Path | None = None
    """Where the runbook index (embedded Chroma) lives; it re-embeds only runbooks that changed, so keeping
    it between runs (the CLI uses the `data_dir` setting) saves the embedding time. None: inside the workdir."""


class _Server:
    """The bot's ASGI app under uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                     access_log=False, lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="opsmedic-eval-bot", daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise ConfigError("the bot's HTTP server did not start within 15 s")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


class _Watched:
    """The store as the worker sees it, noting when the worker first asks for a job: from then on it is in its
    loop, so an alert posted now measures the bot's latency, not a freshly started worker's set-up."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.polling = threading.Event()

    def claim_job(self, worker: str, now: datetime) -> Any:
        self.polling.set()
        return self._store.claim_job(worker, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def webhook_body(placed: Placed) -> dict[str, Any]:
    """The scenario's alert as Alertmanager sends it: version, groupKey, receiver, externalURL filled in."""
    body = dict(placed.alert)
    alerts = body["alerts"]
    common = dict(alerts[0]["labels"])
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert["labels"].get(k) == v}
    body.setdefault("version", "4")
    body.setdefault("groupKey", f'{{}}:{{alertname="{common.get("alertname", "")}",scenario="{placed.scenario.id}"}}')
    body.setdefault("receiver", "opsmedic-eval")
    body.setdefault("externalURL", "http://alertmanager.eval:9093")
    body.setdefault("groupLabels", {k: common[k] for k in ("alertname",) if k in common})
    body.setdefault("commonLabels", common)
    body.setdefault("commonAnnotations", dict(alerts[0].get("annotations", {})) if len(alerts) == 1 else {})
    return body


class Harness:
    """Replays `scenarios` (path, scenario) and returns the scored report of DESIGN.md section 3."""

    def __init__(self, scenarios: Sequence[tuple[Path, Scenario]], workdir: Path, options: EvalOptions,
                 *, progress: Progress | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.scenarios = list(scenarios)
        self.workdir = workdir
        self.options = options
        self.progress = progress
        self.clock = clock or (lambda: datetime.now(UTC))

    def run(self) -> dict[str, Any]:
        instants = slots([s for _, s in self.scenarios], self.clock(), timedelta(seconds=self.options.guard_s))
        placed = [place(s, at, source=str(path)) for (path, s), at in zip(self.scenarios, instants, strict=True)]
        with Backends(placed, self.workdir / "backends") as env:
            base = self._settings(env)
            clients = self._clients(base, env)
            outcomes = []
            for i, p in enumerate(placed):
                outcome = self._one(p, env, base, clients, i)
                outcomes.append(outcome)
                if self.progress:
                    self.progress(i + 1, len(placed), outcome)
        report = score(outcomes)
        report["instants"] = {p.scenario.id: rfc3339(p.instant) for p in placed}
        return report

    # -- setup --------------------------------------------------------------------------------------------------

    def _settings(self, env: Backends) -> Settings:
        policies = self.workdir / "policies"
        policies.mkdir(parents=True, exist_ok=True)
        return load_settings(
            env={}, data_dir=self.workdir / "shared", prometheus_url=env.prometheus.url,
            kubernetes_url=env.kube.url, aws_endpoint_url=env.moto.url, aws_region=env.moto.region,
            cloudwatch_log_groups=env.log_groups, provider_status_urls=env.provider_status_urls(),
            runbooks_dir=self.options.runbooks_dir, embedding_model_dir=self.options.embedding_model_dir,
            policies_dir=policies,
        )

    def _clients(self, settings: Settings, env: Backends) -> Clients:
        from tools.runbooks import open_index

        clients = build_clients(settings)
        clients.cloudwatch_logs = env.moto.client("logs") if env.log_groups else None
        index_settings = settings.model_copy(update={"data_dir": self.options.index_dir}) \
            if self.options.index_dir else settings
        index = open_index(index_settings)
        index.ensure_indexed()
        index.search("warm up the embedding model", k=1)
        clients.runbooks = index
        return clients

    # -- one scenario -------------------------------------------------------------------------------------------

    def _one(self, placed: Placed, env: Backends, base: Settings, clients: Clients, index: int) -> Outcome:
        started = time.monotonic()
        outcome = Outcome.expecting(placed.scenario)
        outcome.placeholders = [str(f) for f in placed.filled]
        try:
            outcome.retrieval, outcome.retrieval_hit = self._retrieval(placed, clients)
        except Exception as exc:  # retrieval is scored apart; the replay still runs
            log.warning("%s: runbook retrieval failed: %s", placed.scenario.id, exc)
        env.show(placed)
        settings = base.model_copy(update={"data_dir": self.workdir / "runs" / f"{index:03d}-{placed.scenario.id}"})
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = open_store(settings)
        audit = AuditLog(store, Redactor(settings.redact_patterns, settings.secrets()), seal=open_seal(settings))
        try:
            watched = _Watched(store)
            worker = Worker(settings, watched, audit, clients)  # type: ignore[arg-type]
            marks = [time.monotonic() - started]
            with _Server(create_app(settings, store, audit, worker=worker)) as server, httpx.Client(
                    base_url=server.url, timeout=10) as http:
                if not watched.polling.wait(timeout=15):
                    raise ConfigError("the bot's worker did not start polling for jobs within 15 s")
                marks.append(time.monotonic() - started)
                self._post(http, placed, store, outcome)
                marks.append(time.monotonic() - started)
            marks.append(time.monotonic() - started)
            audit.close()
            log.debug("%s: setup %.2f s, server up %.2f s, answered %.2f s, server down %.2f s",
                      placed.scenario.id, *marks)
        except (OpsmedicError, httpx.HTTPError, TimeoutError) as exc:
            outcome.error = outcome.error or f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # one broken scenario must not stop the suite: it is reported as not run
            log.exception("%s: the replay failed", placed.scenario.id)
            outcome.error = outcome.error or f"{type(exc).__name__}: {exc}"
        finally:
            store.close()
        if outcome.error:
            log.warning("%s: %s", placed.scenario.id, outcome.error)
        return outcome

    def _post(self, http: httpx.Client, placed: Placed, store: Store, outcome: Outcome) -> None:
        if placed.changes:
            answer = http.post("/changes", json=placed.changes)
            if answer.status_code != 202:
                raise ConfigError(f"/changes answered {answer.status_code}: {answer.text[:300]}")
        answer = http.post("/alertmanager", json=webhook_body(placed),
                           headers={"X-Opsmedic-Instant": rfc3339(placed.instant)})
        acked = datetime.now(UTC)
        if answer.status_code != 200:
            raise ConfigError(f"/alertmanager answered {answer.status_code}: {answer.text[:300]}")
        outcome.incident_id = answer.json()["incident_id"]
        if answer.json().get("status") == "resolved":
            # A notification whose alerts are all resolved opens no investigation: the bot's answer is that
            # nothing is wrong and nothing is to be done, and it gave it at once.
            outcome.status, outcome.domain = "diagnosed", "none"  # no diagnosis ran: no latency to count
            outcome.summary = "resolved notification: recorded, no investigation opened"
            return
        self._wait(store, outcome, acked)

    def _wait(self, store: Store, outcome: Outcome, acked: datetime) -> None:
        deadline = time.monotonic() + self.options.timeout_s
        diagnosis: dict[str, Any] | None = None
        proposal: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            records = store.audit_records(outcome.incident_id)
            for r in records:
                if r.kind == "diagnosis" and diagnosis is None:
                    diagnosis = r.data
                    outcome.latency_ms = round((r.at - acked).total_seconds() * 1000, 1)
                elif r.kind == "proposal" and proposal is None:
                    proposal = r.data
                elif r.kind == "message" and r.data.get("event") == "graph_failed":
                    outcome.error = f"the graph failed: {r.data.get('error', '')}"
            if outcome.error:
                break
            if diagnosis is not None and proposal is not None and \
                    store.get_incident(outcome.incident_id).status in FINISHED:
                break
            time.sleep(self.options.poll_s)
        if diagnosis is None:
            outcome.error = outcome.error or f"no diagnosis within {self.options.timeout_s:g} s"
            return
        outcome.status = str(diagnosis.get("status", ""))
        outcome.domain = diagnosis.get("domain")
        outcome.root_cause = {k: str(v) for k, v in (diagnosis.get("root_cause") or {}).items()}
        outcome.confidence = float(diagnosis.get("confidence") or 0.0)
        outcome.runbook = str(diagnosis.get("runbook") or "")
        outcome.summary = str(diagnosis.get("summary") or "")[:500]
        if proposal is not None:
            outcome.action = proposal.get("action")
            outcome.params = dict(proposal.get("params") or {})

    @staticmethod
    def _retrieval(placed: Placed, clients: Clients) -> tuple[list[str], bool | None]:
        """Search the runbooks as an on-call engineer would from what the alert, the logs and the Kubernetes
        warning events say, within the expected domain; a hit when one of the top 3 runbooks proposes an
        accepted action first."""
        expect = placed.scenario.expect
        if expect.domain == "none" or not expect.remediation.accept or clients.runbooks is None:
            return [], None
        alert = placed.alert["alerts"][0]
        words = [alert["labels"]["alertname"], alert.get("annotations", {}).get("summary", "")]
        words += [line["text"] for stream in placed.logs for line in stream["lines"][-1:]]
        words += [f"{o.get('reason', '')}: {o.get('message', '')}" for o in placed.kubernetes
                  if o.get("kind") == "Event" and o.get("type") == "Warning"]
        hits = clients.runbooks.search(" ".join(words), labels=alert["labels"], k=3, domain=expect.domain)
        first = [h.runbook.remediations[0].action for h in hits]
        return [h.id for h in hits], any(a in expect.remediation.accept for a in first)


def run_suite(scenarios: Sequence[tuple[Path, Scenario]], workdir: Path, options: EvalOptions,
              progress: Progress | None = None) -> dict[str, Any]:
    """Replay and score `scenarios` under `workdir` (created; the caller removes it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    return Harness(scenarios, workdir, options, progress=progress).run()


__all__ = ["EvalOptions", "Harness", "run_suite", "webhook_body"]
