"""`opsmedic incidents list|show`, `opsmedic approve|reject INCIDENT`, `opsmedic replay FILE`."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agent.cli.common import open_app
from agent.errors import InvalidRequest
from agent.models import Approval
from agent.runner import submit_approval
from agent.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    incidents = sub.add_parser("incidents", help="list or show incidents")
    isub = incidents.add_subparsers(dest="incidents_command", required=True, metavar="ACTION")
    lst = isub.add_parser("list", help="recent incidents, newest first")
    lst.add_argument("--status", help="only incidents in this status (open, awaiting_approval, ...)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=cmd_list)
    show = isub.add_parser("show", help="one incident in full")
    show.add_argument("incident")
    show.set_defaults(func=cmd_show)

    for name, approved in (("approve", True), ("reject", False)):
        p = sub.add_parser(name, help=f"{name} the action an incident waits on")
        p.add_argument("incident")
        p.add_argument("--as", dest="actor", default=None, help="who you are (default: your login name)")
        p.add_argument("--comment", default="", help="a note kept in the audit log")
        p.set_defaults(func=cmd_answer, approved=approved)

    replay = sub.add_parser("replay", help="post an Alertmanager payload to a running server")
    replay.add_argument("file", help="a JSON file holding an Alertmanager webhook body")
    replay.add_argument("--url", default=None, help="server base URL (default: from the host/port settings)")
    replay.add_argument("--token", default=None, help="bearer token (default: the webhook_token setting)")
    replay.set_defaults(func=cmd_replay)


def cmd_list(args: argparse.Namespace) -> int:
    app = open_app(args)
    incidents = app.store.list_incidents(status=args.status)
    if args.json:
        print(json.dumps([i.model_dump(mode="json") for i in incidents], indent=2))
        return 0
    if not incidents:
        print("no incidents")
        return 0
    print(f"{'ID':<22} {'STATUS':<18} {'FIRING':>6} {'CREATED':<20} TITLE")
    for i in incidents:
        print(f"{i.id:<22} {i.status:<18} {len(i.firing):>6} {i.created_at:%Y-%m-%d %H:%M:%S}  {i.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    app = open_app(args)
    incident = app.store.get_incident(args.incident)
    print(json.dumps(incident.model_dump(mode="json"), indent=2))
    return 0


def cmd_answer(args: argparse.Namespace) -> int:
    app = open_app(args)
    actor = f"cli:{args.actor or getpass.getuser()}"
    approval = Approval(approved=args.approved, actor=actor, at=datetime.now(UTC), comment=args.comment)
    submit_approval(app.store, args.incident, approval)
    verb = "approval" if args.approved else "rejection"
    print(f"{verb} of {args.incident} by {actor} queued; the worker resumes the incident")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror}") from exc
    settings = load_settings(args.config)  # only the address and token: the store is not opened
    url = args.url or f"http://{settings.host}:{settings.port}"
    token = args.token
    if token is None and settings.webhook_token is not None:
        token = settings.webhook_token.get_secret_value()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        response = httpx.post(f"{url.rstrip('/')}/alertmanager", content=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"cannot reach {url}: {exc}; is `opsmedic serve` running?") from exc
    print(f"{response.status_code} {response.text}")
    return 0 if response.is_success else 1


