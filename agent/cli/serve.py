"""`opsmedic serve` (HTTP server + worker) and `opsmedic worker` (the worker alone)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from agent.cli.common import App, open_app
from agent.context import Clients
from agent.runner import Worker

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP server (webhooks, API) and the worker")
    serve.add_argument("--host", help="listen address (default: the `host` setting)")
    serve.add_argument("--port", type=int, help="listen port (default: the `port` setting)")
    serve.add_argument("--no-worker", action="store_true", help="only accept work; run `opsmedic worker` apart")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the worker alone (takes queued incidents, runs the graph)")
    worker.add_argument("--until-idle", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=cmd_worker)


def build_clients(app: App) -> Clients:
    from agent.clients import build_clients as build

    return build(app.settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from agent.server import create_app

    app = open_app(args)
    host = args.host or app.settings.host
    port = args.port if args.port is not None else app.settings.port
    worker = None if args.no_worker else Worker(app.settings, app.store, app.audit, build_clients(app))
    asgi = create_app(app.settings, app.store, app.audit, worker=worker, extra_routes=extra_routes(app))
    print(f"opsmedic listening on http://{host}:{port}")
    print(f"  Alertmanager webhook: POST http://{host}:{port}/alertmanager")
    print(f"  change events:        POST http://{host}:{port}/changes")
    print(f"  try it:               opsmedic replay evals/samples/alert-firing.json --url http://{host}:{port}")
    print(f"  store:                {app.settings.sqlite_path}")
    uvicorn.run(asgi, host=host, port=port, log_level="info", access_log=False)
    return 0


def extra_routes(app: App) -> list:
    """Routes contributed by optional parts (Slack's request URL when Slack is configured)."""
    return []


def cmd_worker(args: argparse.Namespace) -> int:
    app = open_app(args)
    worker = Worker(app.settings, app.store, app.audit, build_clients(app))
    try:
        asyncio.run(worker.run_until_idle() if args.until_idle else worker.run())
    except KeyboardInterrupt:
        worker.stop()
    return 0
