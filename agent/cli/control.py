"""`opsmedic pause` / `opsmedic resume`: the global kill switch. While paused, the policy denies every change
(paging a human still works) and an approved action that has not started is skipped. Both are audited."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime

from agent.cli.common import open_app

PAUSED = "paused"
"""The store control key of the kill switch (its value: who paused, when, why, as JSON)."""


def register(sub: argparse._SubParsersAction) -> None:
    pause = sub.add_parser("pause", help="stop all execution of changes (the kill switch)")
    pause.add_argument("--reason", default="", help="why, for the audit log")
    pause.add_argument("--as", dest="actor", default="", help="who pauses (default: the OS user)")
    pause.set_defaults(func=cmd_pause)
    resume = sub.add_parser("resume", help="allow execution again after `opsmedic pause`")
    resume.add_argument("--as", dest="actor", default="", help="who resumes (default: the OS user)")
    resume.set_defaults(func=cmd_resume)
    status = sub.add_parser("paused", help="say whether execution is paused")
    status.set_defaults(func=cmd_status)


def _actor(args: argparse.Namespace) -> str:
    return f"cli:{args.actor or getpass.getuser()}"


def cmd_pause(args: argparse.Namespace) -> int:
    app = open_app(args)
    now = datetime.now(UTC)
    actor = _actor(args)
    app.store.set_control(PAUSED, json.dumps({"by": actor, "at": now.isoformat(), "reason": args.reason}))
    app.audit.append("-", "control", actor, {"control": PAUSED, "value": True, "reason": args.reason}, at=now)
    print(f"execution paused by {actor}; `opsmedic resume` allows it again")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    app = open_app(args)
    now = datetime.now(UTC)
    actor = _actor(args)
    was = app.store.get_control(PAUSED)
    app.store.set_control(PAUSED, None)
    app.audit.append("-", "control", actor, {"control": PAUSED, "value": False, "was_paused": was is not None},
                     at=now)
    print("execution resumed" if was is not None else "execution was not paused; nothing changed")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    value = open_app(args).store.get_control(PAUSED)
    print(f"paused: {value}" if value else "not paused")
    return 0
