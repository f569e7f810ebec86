"""The `opsmedic` command. Each sub-command lives in its own module with `register(subparsers)`; add a new
module to COMMANDS to add a command. Errors from the OpsmedicError hierarchy print one line, exit 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from agent.errors import OpsmedicError

COMMANDS = [
    "agent.cli.serve",
    "agent.cli.incidents",
    "agent.cli.audit",
    "agent.cli.config",
    "agent.cli.control",
    "agent.cli.token",
    "agent.cli.runbooks",
    "agent.cli.eval",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsmedic", description="Incident response for AI in production.")
    parser.add_argument("--config", help="YAML settings file (default: $OPSMEDIC_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # a backend that is down is reported once per tool call, not once per retry
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    try:
        return int(args.func(args) or 0)
    except OpsmedicError as exc:
        print(f"opsmedic: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
