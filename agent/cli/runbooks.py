"""`opsmedic runbooks` — check the runbook files, (re-)index them in Chroma, and search them like the reasoner does.

    opsmedic runbooks check                      # validate every runbook (no Chroma needed)
    opsmedic runbooks index                      # embed new and changed runbooks, drop removed ones
    opsmedic runbooks search "output is not valid JSON" --alert LLMOutputValidationFailures --label service=summarizer
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from agent.errors import InvalidRequest
from agent.settings import Settings, load_settings
from tools.runbooks import DOMAINS, load_runbooks, open_index


def register(sub: argparse._SubParsersAction) -> None:
    runbooks = sub.add_parser("runbooks", help="check, index and search the runbooks")
    commands = runbooks.add_subparsers(dest="runbooks_command", required=True, metavar="ACTION")

    check = commands.add_parser("check", help="validate every runbook file (front matter and sections)")
    _common(check)
    check.set_defaults(func=cmd_check)

    index = commands.add_parser("index", help="embed new and changed runbooks in Chroma, delete removed ones")
    _common(index)
    index.set_defaults(func=cmd_index)

    search = commands.add_parser("search", help="rank the runbooks for a query, an alert name and labels")
    search.add_argument("query", help="what you see, in words (an alert summary, a symptom)")
    search.add_argument("--alert", help="the alert name, matched against each runbook's match.alerts")
    search.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="an alert label, matched against match.labels (repeatable)")
    search.add_argument("--domain", choices=DOMAINS, help="only runbooks of this domain")
    search.add_argument("-n", type=int, default=3, help="how many results (default 3)")
    _common(search)
    search.set_defaults(func=cmd_search)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, help="runbooks folder (default: the runbooks_dir setting)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"runbooks_dir": args.dir} if args.dir else {}
    return load_settings(args.config, **overrides)


def parse_labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(f"--label expects KEY=VALUE, got {pair!r}")
        labels[key.strip()] = value.strip()
    return labels


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    books = load_runbooks(settings.runbooks_dir)
    per_domain: Counter[str] = Counter(b.domain for b in books)
    if args.json:
        print(json.dumps({"runbooks": [b.summary() for b in books], "per_domain": dict(per_domain)}, indent=2))
        return 0
    for book in books:
        print(f"ok  {book.id:<34} {book.domain:<9} {book.path}")
    counts = ", ".join(f"{d} {per_domain.get(d, 0)}" for d in DOMAINS)
    print(f"{len(books)} runbooks valid ({counts})")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    settings = _settings(args)
    report = open_index(settings).ensure_indexed()
    where = settings.chroma_url or str(settings.data_dir / "chroma")
    if args.json:
        print(json.dumps({"chroma": where, "added": report.added, "updated": report.updated,
                          "removed": report.removed, "unchanged": len(report.unchanged),
                          "seconds": round(report.seconds, 3)}, indent=2))
        return 0
    print(f"runbook index at {where}: {len(report.added)} added, {len(report.updated)} updated, "
          f"{len(report.removed)} removed, {len(report.unchanged)} unchanged ({report.seconds:.2f} s)")
    for label, ids in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        for rid in ids:
            print(f"  {label:<8} {rid}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise InvalidRequest(f"-n must be at least 1, got {args.n}")
    labels = parse_labels(args.label)
    settings = _settings(args)
    hits = open_index(settings).search(args.query, alert=args.alert, labels=labels or None, k=args.n,
                                       domain=args.domain)
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], indent=2))
        return 0
    if not hits:
        print("no runbooks found")
        return 0
    for rank, hit in enumerate(hits, start=1):
        first = hit.runbook.remediations[0].action
        print(f"{rank}. {hit.id}  [{hit.domain}]  score {hit.score:.3f}")
        print(f"   {hit.runbook.title}")
        print(f"   why: {hit.why}")
        print(f"   first remediation: {first}   file: {hit.runbook.path}")
    return 0
