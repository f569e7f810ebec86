"""Time a full evidence sweep of one incident against the local backends (a benchmark, not a test).

    .venv/bin/python benchmarks/evidence_sweep.py [--runs 5] [--filler 2000]

Starts the real Prometheus (the scenario's series plus `--filler` unrelated ones, 181 samples each), the
Kubernetes emulator, moto's CloudWatch Logs and the status pages (tests/tools/scenario.py), then runs the
investigate plan of an LLM incident and of an infra incident `--runs` times each and prints the wall time of
every sweep, the median, and each tool's status and duration in the last sweep. The official Kubernetes
client is warmed up first, as a long-running worker's is by the time its first alert arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tools import backends  # noqa: E402
from tools.investigation import gather, plan  # noqa: E402
from tools.kubernetes import warm_up  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--filler", type=int, default=2000, help="unrelated series loaded into Prometheus")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        with backends.scenario_backends(Path(tmp), filler=args.filler) as running:
            print(f"backends up in {time.monotonic() - started:.2f} s "
                  f"({running.prometheus.samples_loaded} samples in Prometheus)")
            settings = running.settings()
            print(f"Kubernetes client warm-up (build_clients starts it in the background): {warm_up():.2f} s")
            for service, alertname in (("summarizer", "LLMOutputValidationFailures"), ("api", "KubePodCrashLooping")):
                incident = backends.incident(service, alertname)
                ctx = running.context(incident, settings)
                times = []
                for _ in range(args.runs):
                    probes = plan(incident, ctx)
                    begun = time.monotonic()
                    found = asyncio.run(gather(probes, timeout_s=settings.tool_timeout_s,
                                               budget_s=settings.investigate_budget_s))
                    times.append(time.monotonic() - begun)
                print(f"\n{alertname} ({service}): {len(probes)} tools; sweeps "
                      + ", ".join(f"{t * 1000:.0f}" for t in times)
                      + f" ms; median {statistics.median(times) * 1000:.0f} ms")
                for item in sorted(found, key=lambda e: -e.duration_ms):
                    line = f"  {item.tool:22} {item.status:8} {item.duration_ms:7.0f} ms  {item.summary or item.error}"
                    print(line[:150])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
