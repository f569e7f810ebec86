"""A real Prometheus on localhost, loaded with known samples.

    samples = [("llm_requests_total", {"service": "chat", "status": "ok"}, [(t0, 1.0), (t0 + 60, 5.0)])]
    with PrometheusServer(samples, tmp_path) as prom:
        PrometheusConnect(prom.url).custom_query("llm_requests_total", params={"time": t0 + 60})

The samples are written as OpenMetrics (one `# TYPE name gauge` per family, timestamps in seconds, `# EOF`),
turned into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, and served by the `prometheus`
binary on a free 127.0.0.1 port with a 100-year retention (so old blocks are not deleted on start) and no
scrape targets. Every sample must lie in the past.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from agent.errors import ConfigError

log = logging.getLogger(__name__)

Sample = tuple[str, Mapping[str, str], Sequence[tuple[float, float | None]]]
"""(metric name, labels, [(unix seconds, value or None for a missing sample)])."""

READY_TIMEOUT_S = 30.0
CONFIG = "global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs: []\n"


def binary(name: str) -> str:
    """The path of `prometheus` or `promtool`; ConfigError saying how to install it when missing."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if not found:
        raise ConfigError(f"`{name}` is not installed: install the Debian package `prometheus` "
                          "(apt-get install prometheus) or put the binary on PATH")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def write_openmetrics(samples: Iterable[Sample], out: IO[str], *, now: float | None = None) -> int:
    """Write `samples` as OpenMetrics text to `out`; returns the number of samples written.

    Raises ConfigError for a bad metric name or a sample not in the past (promtool cannot load those).
    """
    limit = (time.time() if now is None else now) + 1
    families: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        families[sample[0]].append(sample)
    written = 0
    for name, series in families.items():
        if not name or not (name[0].isalpha() or name[0] in "_:") or any(
            not (c.isalnum() or c in "_:") for c in name
        ):
            raise ConfigError(f"invalid metric name {name!r}")
        out.write(f"# TYPE {name} gauge\n")
        for _, labels, points in series:
            rendered = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()) if k != "__name__")
            head = f"{name}{{{rendered}}}" if rendered else name
            for ts, value in sorted(points, key=lambda p: p[0]):
                if value is None:
                    continue
                if ts > limit:
                    raise ConfigError(f"sample of {head} at {ts} lies in the future: Prometheus blocks must be "
                                      "in the past")
                out.write(f"{head} {_number(value)} {ts:.3f}\n")
                written += 1
    out.write("# EOF\n")
    return written


class PrometheusServer:
    """The `prometheus` binary serving `samples` from blocks under `workdir` (created if needed)."""

    def __init__(self, samples: Iterable[Sample], workdir: Path | str, *, now: float | None = None,
                 max_block_duration: str | None = None, rules: str = "") -> None:
        """`max_block_duration` is promtool's flag (e.g. "336h"); by default one block spans all the samples,
        which loads days of samples in a second where promtool's default 2-hour blocks take tens of seconds.
        `rules` is a Prometheus rule file (YAML text) to load, so that `/api/v1/rules` knows the alerts."""
        self._rules = rules
        self._samples = list(samples)
        self._max_block = max_block_duration
        self._workdir = Path(workdir)
        self._now = now
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._url = ""
        self.samples_loaded = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("PrometheusServer is not started")
        return self._url

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError("PrometheusServer is already started")
        prometheus, promtool = binary("prometheus"), binary("promtool")
        self._workdir.mkdir(parents=True, exist_ok=True)
        data, source = self._workdir / "data", self._workdir / "samples.om"
        data.mkdir(exist_ok=True)
        with source.open("w") as out:
            self.samples_loaded = write_openmetrics(self._samples, out, now=self._now)
        if self.samples_loaded:
            done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                                   f"--max-block-duration={self._max_block or self._span()}", str(source), str(data)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise ConfigError(f"promtool could not load the samples: {(done.stderr or done.stdout)[-800:]}")
        config = CONFIG
        if self._rules:
            (self._workdir / "rules.yml").write_text(self._rules)
            config += f"rule_files: [{json.dumps(str(self._workdir / 'rules.yml'))}]\n"
        (self._workdir / "prometheus.yml").write_text(config)
        port = free_port()
        self._log = (self._workdir / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [prometheus, f"--config.file={self._workdir / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}",
             "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self._url = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("Prometheus on %s with %d samples", self._url, self.samples_loaded)
        return self

    def _span(self) -> str:
        """The samples' time span in whole hours, rounded up to an even number (at least 2h)."""
        stamps = [ts for _, _, points in self._samples for ts, v in points if v is not None]
        hours = math.ceil((max(stamps) - min(stamps)) / 3600) + 1 if stamps else 2
        return f"{max(2, hours + hours % 2)}h"

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConfigError(f"prometheus exited with {self._process.returncode}: {self._log_tail()}")
            try:
                if httpx.get(f"{self._url}/-/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ConfigError(f"prometheus was not ready within {READY_TIMEOUT_S:g} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        path = self._workdir / "prometheus.log"
        return path.read_text(errors="replace")[-800:] if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
        self._process = self._log = None
        self._url = ""
