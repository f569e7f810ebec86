"""`opsmedic eval --scenarios DIR [--json] [--only ID]`: replay scenarios against real backends and score.

`opsmedic eval --petshop DIR [--split train]` converts a clone of the PetShop dataset in memory
(agent/replay/petshop.py) and adds a table per traffic and metric; `opsmedic petshop convert DIR OUT` writes
the converted scenarios as files.

A progress bar goes to stderr, then the table (or, with --json, one JSON object on stdout). The exit status is
non-zero only when a scenario could not be run (1) or the input is bad (2); low scores are the caller's
business (tests/test_eval_suite.py holds the thresholds).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.replay.harness import EvalOptions, run_suite
from agent.replay.scenario import load_scenarios
from agent.replay.scoring import Outcome, table
from agent.settings import load_settings

BAR = 30


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("eval", help="replay scenarios end to end and score the diagnoses")
    cmd.add_argument("--scenarios", type=Path, default=Path("evals/scenarios"), help="folder of scenario YAML")
    cmd.add_argument("--only", metavar="ID", help="run only the scenario with this id")
    cmd.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of the table")
    cmd.add_argument("--timeout", type=float, default=30.0, help="seconds one scenario may take (default 30)")
    cmd.add_argument("--keep", type=Path, help="keep the working folder here (stores, Prometheus data, logs)")
    cmd.add_argument("--petshop", type=Path, metavar="DIR",
                     help="replay the PetShop dataset at DIR (its issues and specificity windows) instead")
    cmd.add_argument("--split", default="train", help="the PetShop split to replay (default train)")
    cmd.set_defaults(func=cmd_eval)
    petshop = sub.add_parser("petshop", help="the PetShop dataset as scenarios")
    actions = petshop.add_subparsers(dest="petshop_command", required=True)
    conv = actions.add_parser("convert", help="write the dataset's issues and specificity windows as scenarios")
    conv.add_argument("dataset", type=Path, help="a clone of the PetShop dataset (or its dataset/ folder)")
    conv.add_argument("out", type=Path, help="folder to write the scenario YAML into")
    conv.add_argument("--split", default="train", help="the split to convert (default train)")
    conv.set_defaults(func=cmd_petshop_convert)


def cmd_petshop_convert(args: argparse.Namespace) -> int:
    from agent.replay.petshop import convert

    count = convert(args.dataset, args.out, args.split)
    print(f"wrote {count} scenario(s) to {args.out}")
    return 0


def petshop_table(report: dict[str, Any]) -> str:
    """Top-1 root cause per traffic and metric, and specificity per traffic, as the dataset reports them."""
    from agent.replay.petshop import by_group

    lines = ["", "PetShop           n   top-1 / specificity   unsafe"]
    for key, g in sorted(by_group(report["results"]).items()):
        label = "specificity" if key.endswith("noissue") else "top-1"
        lines.append(f"{key:<28} {g['n']:>3}   {label:<11} {g['rate']:.3f}   {g['unsafe']}")
    return "\n".join(lines)


def _progress(done: int, total: int, outcome: Outcome) -> None:
    filled = BAR * done // total
    mark = "ok" if outcome.domain_ok and outcome.root_cause_ok and outcome.remediation_ok else \
        ("ERROR" if outcome.error else "miss")
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} {outcome.id[:40]:<40} {mark:<5}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _quiet(verbose: bool) -> None:
    """Keep stderr for the progress bar: only warnings, unless -v asked for everything."""
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)


def cmd_eval(args: argparse.Namespace) -> int:
    _quiet(bool(getattr(args, "verbose", False)))
    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "petshop", None) is not None:
        from agent.replay.petshop import scenarios as petshop_scenarios

        scenarios = petshop_scenarios(args.petshop, args.split)
        if args.only:
            scenarios = [(p, s) for p, s in scenarios if s.id == args.only]
    else:
        scenarios = load_scenarios(args.scenarios, only=args.only)
    options = EvalOptions(runbooks_dir=settings.runbooks_dir, embedding_model_dir=settings.embedding_model_dir,
                          timeout_s=args.timeout, index_dir=settings.data_dir)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="opsmedic-eval-"))
    source = args.petshop if getattr(args, "petshop", None) is not None else args.scenarios
    sys.stderr.write(f"replaying {len(scenarios)} scenario(s) from {source}\n")
    started = time.monotonic()
    try:
        report = run_suite(scenarios, workdir, options, progress=_progress)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(report, sort_keys=False))
    else:
        print(table(report))
        if getattr(args, "petshop", None) is not None:
            print(petshop_table(report))
        print(f"\n{report['seconds']} s")
    return 1 if report["failed_to_run"] else 0
