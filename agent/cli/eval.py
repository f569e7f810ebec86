"""`opsmedic eval --scenarios DIR [--json] [--only ID]`: replay scenarios against real backends and score.

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
    cmd.set_defaults(func=cmd_eval)


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
    scenarios = load_scenarios(args.scenarios, only=args.only)
    options = EvalOptions(runbooks_dir=settings.runbooks_dir, embedding_model_dir=settings.embedding_model_dir,
                          timeout_s=args.timeout, index_dir=settings.data_dir)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="opsmedic-eval-"))
    sys.stderr.write(f"replaying {len(scenarios)} scenario(s) from {args.scenarios}\n")
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
        print(f"\n{report['seconds']} s")
    return 1 if report["failed_to_run"] else 0
