"""`opsmedic audit show [INCIDENT]`, `opsmedic audit verify` and `opsmedic audit checkpoint`."""

from __future__ import annotations

import argparse
import json

from agent.cli.common import open_app


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="read or verify the tamper-evident audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    show = asub.add_parser("show", help="the audit records, all or one incident's")
    show.add_argument("incident", nargs="?", help="only this incident's records")
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    show.set_defaults(func=cmd_show)
    verify = asub.add_parser(
        "verify", help="check the hash chain, the macs and the checkpoints; names the first record tampered with")
    verify.set_defaults(func=cmd_verify)
    checkpoint = asub.add_parser("checkpoint", help="append a signed checkpoint of the chain's head")
    checkpoint.set_defaults(func=cmd_checkpoint)


def cmd_show(args: argparse.Namespace) -> int:
    app = open_app(args)
    for r in app.audit.records(args.incident):
        if args.json:
            print(r.model_dump_json())
        else:
            data = json.dumps(r.data, ensure_ascii=False, sort_keys=True)
            print(f"{r.seq:>6} {r.at:%Y-%m-%d %H:%M:%S} {r.incident_id or '-':<22} {r.kind:<12} {r.actor:<20} {data}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    app = open_app(args)
    result = app.audit.verify()
    if result.ok and result.records == 0:
        print("audit log empty: 0 records (nothing to verify)")
        return 0
    if result.ok:
        print(f"audit log intact: {result.records} records, chain and macs verified, "
              f"{result.checkpoints} checkpoints matched")
        return 0
    print(f"audit log TAMPERED: {result.problem}")
    return 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    app = open_app(args)
    point = app.audit.checkpoint()
    if point is None:
        print("audit log empty: no checkpoint written")
        return 0
    print(f"checkpoint of record {point.seq} ({point.hash[:12]}...) in {app.settings.audit_checkpoint_path}")
    return 0
