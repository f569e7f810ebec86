"""A Kubernetes API on localhost: kmock's `KubernetesEmulator` serving given objects to the official client.

    with KubeEmulator(objects, logs=[LogLines("prod", "api-7f9", "app", [(t, "ERROR boom")])]) as kube:
        apps = kubernetes.client.AppsV1Api(kube.api_client())
        apps.read_namespaced_deployment("api", "prod")

The emulator runs its aiohttp server on its own event loop in a background thread, so synchronous code (the
official client, the tools, the actions) talks to it over real HTTP. What kmock lacks is added here or can be
added by the caller:

- pod logs (`GET .../pods/NAME/log`) are served from the given lines, honouring `container`, `previous`,
  `sinceTime`, `sinceSeconds` (against `now`), `tailLines` and `timestamps`;
- `react(criteria, payload)` adds a kmock reaction (e.g. for `/scale`, `/status`, or a dry-run patch), and
  `fail(criteria, status)` makes matching requests answer an API error;
- `requests()` / `writes()` list what the server received, so tests can prove that nothing was changed.

kmock ignores `dryRun` (a dry-run patch is applied for real) and runs no controllers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import kmock
from kubernetes import client as k8s

from agent.errors import ConfigError

FAILURE_PRIORITY = 100
"""Injected failures beat every other reaction."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_START_TIMEOUT_S = 10.0
T = TypeVar("T")


@dataclass(frozen=True)
class LogLines:
    """The log of one container: lines with their times (None = no timestamp known). `previous`: the log of
    the container's previous instance (served for `?previous=true`, after a restart)."""

    namespace: str
    pod: str
    container: str
    lines: Sequence[tuple[datetime | None, str]] = field(default_factory=tuple)
    previous: bool = False


@dataclass(frozen=True)
class Received:
    """One request the emulator received."""

    method: str
    path: str
    params: Mapping[str, str]
    data: Any


def _resource_for(obj: Mapping[str, Any]) -> kmock.resource:
    """The kmock resource (group, version, plural) of an object, from its apiVersion and kind."""
    api_version = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "")
    if not api_version or not kind:
        raise ConfigError(f"a Kubernetes object needs apiVersion and kind: {dict(obj)!r:.200}")
    group, _, version = api_version.rpartition("/")
    return kmock.resource(group, version, _plural(kind))


def _plural(kind: str) -> str:
    lowered = kind.lower()
    if lowered.endswith("s"):
        return lowered + "es"
    if lowered.endswith("y") and lowered[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lowered[:-1] + "ies"
    return lowered + "s"


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KubeEmulator:
    """kmock's Kubernetes emulator on a free 127.0.0.1 port, preloaded with `objects` (any kind).

    `now` is the emulator's notion of the present, used only for `sinceSeconds` on pod logs (default: the
    wall clock). Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(
        self, objects: Iterable[Mapping[str, Any]] = (), *, logs: Iterable[LogLines] = (),
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._objects = [dict(o) for o in objects]
        self._logs: dict[tuple[str, str], list[LogLines]] = {}
        for entry in logs:
            self._logs.setdefault((entry.namespace, entry.pod), []).append(entry)
        self._now = now or (lambda: datetime.now(UTC))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._emulator: kmock.KubernetesEmulator | None = None
        self._url = ""
        self._clients: list[k8s.ApiClient] = []

    # lifecycle

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("KubeEmulator is already started")
        for obj in self._objects:  # bad objects fail here, in the caller's thread, with a clear message
            _resource_for(obj)
            if not (obj.get("metadata") or {}).get("name"):
                raise ConfigError(f"a Kubernetes object needs metadata.name: {obj!r:.200}")
        started: Future[None] = Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(started,), name="kube-emulator", daemon=True)
        self._thread.start()
        started.result(timeout=_START_TIMEOUT_S)
        return self

    def stop(self) -> None:
        for api in self._clients:
            api.close()
        self._clients.clear()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        if self._loop is not None:
            self._loop.close()
        self._thread = self._loop = self._stop = self._emulator = None

    def _run(self, started: Future[None]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve(started))
        except BaseException as exc:  # surface start-up failures to the starting thread
            if not started.done():
                started.set_exception(exc)

    async def _serve(self, started: Future[None]) -> None:
        self._stop = asyncio.Event()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            for obj in self._objects:
                meta = obj.get("metadata") or {}
                emulator.objects[_resource_for(obj), meta.get("namespace"), str(meta["name"])] = obj
            log = (emulator ** -1)[kmock.subresource("log")]  # below the caller's reactions, above the fallback
            log << kmock.headers({"Content-Type": "text/plain"}) << self._serve_log
            self._emulator = emulator
            self._url = str(server.url).rstrip("/")
            started.set_result(None)
            await self._stop.wait()

    # what the caller uses

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("KubeEmulator is not started")
        return self._url

    @property
    def emulator(self) -> kmock.KubernetesEmulator:
        """The kmock handler itself, for anything this wrapper does not cover (touch it via `call`)."""
        if self._emulator is None:
            raise RuntimeError("KubeEmulator is not started")
        return self._emulator

    def api_client(self, *, timeout_s: float | None = None) -> k8s.ApiClient:
        """A fresh official-client ApiClient pointed at the emulator (closed by `stop()`)."""
        configuration = k8s.Configuration()
        configuration.host = self.url
        configuration.retries = 0
        if timeout_s is not None:
            configuration.timeout = timeout_s  # type: ignore[attr-defined]
        api = k8s.ApiClient(configuration)
        self._clients.append(api)
        return api

    def call(self, fn: Callable[[kmock.KubernetesEmulator], T]) -> T:
        """Run `fn(emulator)` on the emulator's event loop and return its result (thread-safe access)."""
        if self._loop is None:
            raise RuntimeError("KubeEmulator is not started")
        emulator = self.emulator

        async def invoke() -> T:
            return fn(emulator)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(timeout=_START_TIMEOUT_S)

    def react(self, criteria: Any, payload: Any) -> None:
        """Add a kmock reaction: requests matching `criteria` get `payload` (bytes, a dict, an exception class,
        or a callable taking the kmock request). Example: `react(kmock.subresource("scale"), handler)`."""

        def add(emulator: kmock.KubernetesEmulator) -> None:
            emulator[criteria] << payload

        self.call(add)

    def fail(self, criteria: Any, status: int = 500, message: str = "injected failure") -> None:
        """Make requests matching `criteria` answer a Kubernetes `Status` error with this HTTP status."""

        def answer(_request: Any) -> Any:
            raise kmock.KubernetesError(status=status, message=message)

        def add(emulator: kmock.KubernetesEmulator) -> None:
            (emulator ** FAILURE_PRIORITY)[criteria] << answer

        self.call(add)

    def requests(self) -> list[Received]:
        """Every request received so far, in order."""

        def collect(emulator: kmock.KubernetesEmulator) -> list[Received]:
            return [
                Received(str(getattr(r.method, "value", r.method) or "").upper(), r.url.path, dict(r.params), r.data)
                for r in emulator  # the root view iterates over every request received
            ]

        return self.call(collect)

    def writes(self) -> list[Received]:
        """The requests that would change something (POST, PUT, PATCH, DELETE)."""
        return [r for r in self.requests() if r.method in WRITE_METHODS]

    def object(self, kind_api: Mapping[str, Any], namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored state of one object (`kind_api` holds its apiVersion and kind), or None."""
        key = (_resource_for(kind_api), namespace, name)

        def read(emulator: kmock.KubernetesEmulator) -> dict[str, Any] | None:
            if key not in emulator.objects or emulator.objects[key].deleted:
                return None
            return dict(emulator.objects[key].raw)

        return self.call(read)

    # pod logs

    def _serve_log(self, request: Any) -> bytes:
        entries = self._logs.get((request.namespace, request.name))
        if entries is None:
            raise kmock.KubernetesObjectNotFoundError()
        params = request.params
        container = params.get("container")
        previous = params.get("previous") in ("true", "True", "1")
        if container is None and len({e.container for e in entries}) > 1:
            raise kmock.KubernetesError(status=400, message="a container name must be specified")
        mine = [e for e in entries if container is None or e.container == container]
        if not mine:
            raise kmock.KubernetesError(status=400, message=f"container {container} is not valid for pod")
        chosen = [e for e in mine if e.previous == previous]
        if not chosen and previous:
            raise kmock.KubernetesError(status=400, message=f"previous terminated container {container} not found")
        lines = [line for entry in chosen for line in entry.lines]
        since: datetime | None = None
        if params.get("sinceTime"):
            since = _parse_time(params["sinceTime"])
        elif params.get("sinceSeconds"):
            since = self._now() - timedelta(seconds=float(params["sinceSeconds"]))
        if since is not None:
            lines = [(at, text) for at, text in lines if at is None or at >= since]
        if params.get("tailLines"):
            lines = lines[-int(params["tailLines"]):] if int(params["tailLines"]) > 0 else []
        stamped = params.get("timestamps") in ("true", "True", "1")
        out = [f"{_rfc3339(at)} {text}" if stamped and at is not None else text for at, text in lines]
        return ("\n".join(out) + "\n").encode() if out else b""
