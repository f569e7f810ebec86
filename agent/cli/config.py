"""`opsmedic config` — the settings in force (secrets hidden), or the Markdown table of every setting."""

from __future__ import annotations

import argparse
import json

from agent.settings import ENV_PREFIX, Settings, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="show the settings in force (secrets hidden)")
    config.add_argument("--table", action="store_true", help="print the Markdown table of every setting")
    config.set_defaults(func=cmd_config)


def settings_table() -> str:
    rows = ["| setting (YAML) | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = json.dumps(default, default=str) if default not in (None, "") else "—"
        rows.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(rows)


def cmd_config(args: argparse.Namespace) -> int:
    if args.table:
        print(settings_table())
        return 0
    settings = load_settings(args.config)
    print(json.dumps(settings.model_dump(mode="json"), indent=2, default=str))
    return 0
