"""The worker: takes queued jobs from the store and runs the incident graph, one thread per incident.

The webhook only enqueues. A job is `investigate` (start the graph, or continue it from its last checkpoint
after a crash) or `resume` (an approval or rejection for a graph waiting in `approve`). Checkpoints live in the
same SQLite file as the store, so a killed worker resumes where it stopped and no finished node runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from agent import metrics
from agent.audit import AuditLog
from agent.context import Clients, Context
from agent.errors import InvalidRequest, NotFound
from agent.graph import SERDE, build_graph
from agent.models import Approval
from agent.settings import Settings
from agent.store import Job, Store

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def checkpointer(settings: Settings) -> AsyncIterator[AsyncSqliteSaver]:
    """The graph's SQLite checkpointer, with opsmedic's serializer (it allows only our model types)."""
    async with AsyncSqliteSaver.from_conn_string(str(settings.checkpoint_path)) as saver:
        saver.serde = SERDE
        yield saver


def thread_config(incident_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": incident_id}}


def submit_approval(store: Store, incident_id: str, approval: Approval) -> int:
    """Queue an approval or rejection for an incident's graph; the worker resumes the graph with it.

    Raises NotFound for an unknown incident and InvalidRequest when the incident waits for no approval.
    """
    incident = store.get_incident(incident_id)
    if incident.status != "awaiting_approval":
        raise InvalidRequest(f"incident {incident_id} is not waiting for an approval (it is {incident.status})")
    return store.enqueue(incident_id, "resume", {"approval": approval.model_dump(mode="json")}, approval.at)


class Worker:
    """Runs queued jobs until stopped. One per store (it reclaims unfinished jobs when it starts)."""

    def __init__(
        self, settings: Settings, store: Store, audit: AuditLog, clients: Clients,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.clients = clients
        self.clock = clock or (lambda: datetime.now(UTC))
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Work was queued: look now rather than at the next poll (call from the worker's event loop)."""
        self._wake.set()

    def _reclaim(self) -> None:
        reclaimed = self.store.release_claims()
        if reclaimed:
            log.info("reclaimed %d unfinished job(s) from a previous worker", reclaimed)

    async def run(self) -> None:
        self._reclaim()
        async with checkpointer(self.settings) as saver:
            graph = build_graph(saver)
            while not self._stop.is_set():
                job = await asyncio.to_thread(self.store.claim_job, self.name, self.clock())
                if job is None:
                    metrics.QUEUE_DEPTH.set(await asyncio.to_thread(self.store.queue_depth))
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=self.settings.worker_poll_s)
                    except TimeoutError:
                        pass
                    self._wake.clear()
                    continue
                await self.run_job(graph, job)

    async def run_until_idle(self) -> None:
        """Run jobs until the queue is empty (for the CLI and tests)."""
        self._reclaim()
        async with checkpointer(self.settings) as saver:
            graph = build_graph(saver)
            while (job := self.store.claim_job(self.name, self.clock())) is not None:
                await self.run_job(graph, job)

    def context(self, incident_id: str) -> Context:
        incident = self.store.get_incident(incident_id)
        return Context(
            settings=self.settings, store=self.store, audit=self.audit, clients=self.clients,
            incident_id=incident_id, instant=incident.instant, clock=self.clock,
        )

    async def run_job(self, graph: Any, job: Job) -> None:
        config = thread_config(job.incident_id)
        error = ""
        try:
            ctx = self.context(job.incident_id)
            snapshot = await graph.aget_state(config)
            if job.kind == "resume" and snapshot.interrupts:
                graph_input: Any = Command(resume=job.payload["approval"])
            elif job.kind == "resume" and not snapshot.next:
                raise InvalidRequest(f"incident {job.incident_id} is not waiting for an approval")
            elif snapshot.next:
                # an investigation, or an approval taken in before a crash: go on after the last finished node
                log.info("resuming incident %s at %s", job.incident_id, ", ".join(snapshot.next))
                graph_input = None
            else:
                graph_input = {"incident_id": job.incident_id}
            with metrics.GRAPH_SECONDS.time():
                await graph.ainvoke(graph_input, config, context=ctx, durability="sync")
            metrics.GRAPH_RUNS.labels(outcome="ok").inc()
        except (NotFound, InvalidRequest) as exc:
            error = str(exc)
            log.warning("job %d for incident %s: %s", job.id, job.incident_id, exc)
            metrics.GRAPH_RUNS.labels(outcome="rejected").inc()
        except Exception as exc:  # the worker must survive any one incident's failure
            error = f"{type(exc).__name__}: {exc}"
            log.exception("job %d for incident %s failed", job.id, job.incident_id)
            metrics.GRAPH_RUNS.labels(outcome="error").inc()
            self.audit.append(job.incident_id, "message", "system", {"event": "graph_failed", "error": error})
        self.store.finish_job(job.id, self.clock(), error)
