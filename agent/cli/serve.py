"""`opsmedic serve` (HTTP server + worker) and `opsmedic worker` (the worker alone).

Start-up builds everything the graph needs, once, at the edge: the policy (a malformed policy stops start-up),
the clients, the chat model and Slack when they are configured; the runbook index is synchronised beside.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from agent.cli.common import App, open_app
from agent.context import Clients
from agent.runner import Worker
from agent.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP server (webhooks, API, Slack) and the worker")
    serve.add_argument("--host", help="listen address (default: the `host` setting)")
    serve.add_argument("--port", type=int, help="listen port (default: the `port` setting)")
    serve.add_argument("--no-worker", action="store_true", help="only accept work; run `opsmedic worker` apart")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the worker alone (takes queued incidents, runs the graph)")
    worker.add_argument("--until-idle", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=cmd_worker)


@dataclass
class Runtime:
    clients: Clients
    slack: Any = None


def build_runtime(app: App, *, with_slack: bool) -> Runtime:
    """Policy, clients, runbook index, chat model and Slack, built from the settings."""
    from agent.clients import build_clients
    from agent.policy import load_policies

    settings = app.settings
    policy = load_policies(settings.policies_dir)  # ConfigError (file, line, field) stops start-up
    clients = build_clients(settings)
    clients.policy = policy
    threading.Thread(target=index_runbooks, args=(app, clients), name="opsmedic-runbook-index", daemon=True).start()
    if settings.llm:
        from agent.reasoning.llm import build_chat_model

        clients.chat_model = build_chat_model(settings.llm)
    slack = None
    if with_slack:
        from agent.slack.app import build_slack

        slack = build_slack(settings, app.store, app.audit, prometheus=clients.prometheus,
                            chat_model=clients.chat_model, runbooks=clients.runbooks)
        if slack is not None:
            slack.wire(clients)
    return Runtime(clients, slack)


def index_runbooks(app: App, clients: Clients) -> None:
    """Synchronise the runbook index (only changed runbooks are embedded again), then hand it to the graph.

    It runs beside the server, so alerts are accepted at once; until it is ready, or when the embedding model
    cannot be had, diagnosis goes on from the evidence alone and the log says why.
    """
    from tools.runbooks.chroma import open_index

    started = time.perf_counter()
    log.info("indexing runbooks from %s", app.settings.runbooks_dir)
    try:
        index = open_index(app.settings)
        report = index.warm_up()
    except Exception as exc:  # no model offline, Chroma server down: go on without runbooks
        log.warning("runbook index unavailable (%s: %s); set embedding_model_dir to a local copy of the "
                    "model or chroma_url to a Chroma server", type(exc).__name__, exc)
        return
    clients.runbooks = index
    log.info("runbooks ready: %d added, %d updated, %d removed, %d unchanged (%.1f s)", len(report.added),
             len(report.updated), len(report.removed), len(report.unchanged), time.perf_counter() - started)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's limits on clients: past `max_connections` open connections a request is answered 503 at once
    (Alertmanager retries), and idle keep-alive connections are closed, so that slow or idle clients cannot hold
    every slot. Slow bodies are the app's to time out (`body_timeout_s`, 408)."""
    return {"limit_concurrency": settings.max_connections, "timeout_keep_alive": settings.keep_alive_timeout_s}


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from agent.server import create_app
    from agent.slack.app import running, slack_routes

    app = open_app(args)
    host = args.host or app.settings.host
    port = args.port if args.port is not None else app.settings.port
    runtime = build_runtime(app, with_slack=True)
    for warning in open_doors(app.settings):
        log.warning("SECURITY: %s", warning)
        print(f"WARNING: {warning}", file=sys.stderr)
    if not app.settings.api_tokens:
        log.info("api_tokens is empty: HTTP approvals are off (Slack buttons and `opsmedic approve` still work)")
    worker = None if args.no_worker else Worker(app.settings, app.store, app.audit, runtime.clients)
    asgi = create_app(app.settings, app.store, app.audit, worker=worker, extra_routes=slack_routes(runtime.slack),
                      background=running(runtime.slack))
    print(f"opsmedic listening on http://{host}:{port}")
    print(f"  Alertmanager webhook: POST http://{host}:{port}/alertmanager")
    print(f"  change events:        POST http://{host}:{port}/changes")
    if runtime.slack is not None:
        print(f"  Slack request URL:    POST http://{host}:{port}/slack/events")
    print(f"  try it:               opsmedic replay evals/samples/alert-firing.json --url http://{host}:{port}")
    print(f"  store:                {app.settings.sqlite_path}")
    sys.stdout.flush()
    try:
        uvicorn.run(asgi, host=host, port=port, log_level="info", access_log=False, **uvicorn_options(app.settings))
    finally:
        app.audit.close()
    return 0


def open_doors(settings: Any) -> list[str]:
    """What anyone who can reach the port may do, said loudly at start-up."""
    doors = []
    if settings.webhook_token is None:
        doors.append("webhook_token is not set: anyone who can reach the port can post alerts and read incidents")
    if settings.webhook_token is None and settings.changes_token is None and settings.changes_hmac_secret is None:
        doors.append("/changes has no token (changes_token, changes_hmac_secret or webhook_token): anyone who can "
                     "reach the port can post change events, which steer the diagnosis")
    return doors


def cmd_worker(args: argparse.Namespace) -> int:
    app = open_app(args)
    worker = Worker(app.settings, app.store, app.audit, build_runtime(app, with_slack=False).clients)
    try:
        asyncio.run(worker.run_until_idle() if args.until_idle else worker.run())
    except KeyboardInterrupt:
        worker.stop()
    finally:
        app.audit.close()
    return 0
