"""Kubernetes objects of a scenario: fill what the official client requires, then validate with that client.

The official client (kubernetes 37) validates what it reads: a Deployment or ReplicaSet without `selector` and
`template`, a container status without `imageID`, an owner reference without `uid` are rejected. Scenario
authors write the fields that matter for the story; `complete` fills the required rest with placeholders —
derived from what the object does say, deterministic, and reported (`Filled`) so that nothing is silent —
and `validate` then asks the official client's own deserializer whether the result is acceptable.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from pydantic import ValidationError

from agent.errors import ConfigError

WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}
_OWNER_API = {"ReplicaSet": "apps/v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1",
              "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1", "Node": "v1"}
_UID_NAMESPACE = uuid.UUID("6f1d1c3e-5a43-4c1b-9a55-0b8f3c6a2d10")


@dataclass(frozen=True)
class Filled:
    """One placeholder the harness put in: which object, which field, what value."""

    object: str
    field: str
    value: str

    def __str__(self) -> str:
        return f"{self.object}: {self.field} = {self.value}"


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {where}{meta.get('name', '?')}"


def uid_for(scenario_id: str, obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    key = f"{scenario_id}/{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name', '')}"
    return str(uuid.uuid5(_UID_NAMESPACE, key))


def complete(scenario_id: str, objects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Filled]]:
    """Copies of `objects` with required fields filled in, and the list of what was filled."""
    out = [copy.deepcopy(o) for o in objects]
    filled: list[Filled] = []
    uids: dict[tuple[str, str, str], str] = {}
    for obj in out:
        meta = obj.setdefault("metadata", {})
        if not meta.get("uid"):  # not required by the client, so not reported; owner references need it
            meta["uid"] = uid_for(scenario_id, obj)
        uids[(obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))] = meta["uid"]
    for obj in out:
        name = describe(obj)
        _owner_references(obj, name, uids, filled)
        if obj.get("kind") in WORKLOADS:
            _workload(obj, name, filled)
        if obj.get("kind") == "Pod":
            _pod(obj, name, filled)
    return out, filled


def _owner_references(obj: dict[str, Any], name: str, uids: dict[tuple[str, str, str], str],
                      filled: list[Filled]) -> None:
    namespace = obj["metadata"].get("namespace", "")
    for i, ref in enumerate(obj["metadata"].get("ownerReferences") or []):
        if not ref.get("apiVersion") and ref.get("kind") in _OWNER_API:
            ref["apiVersion"] = _OWNER_API[ref["kind"]]
            filled.append(Filled(name, f"metadata.ownerReferences[{i}].apiVersion", ref["apiVersion"]))
        if not ref.get("uid"):
            key = (ref.get("kind", ""), namespace if ref.get("kind") != "Node" else "", ref.get("name", ""))
            ref["uid"] = uids.get(key) or uid_for("", {"kind": key[0], "metadata": {"namespace": key[1],
                                                                                      "name": key[2]}})
            filled.append(Filled(name, f"metadata.ownerReferences[{i}].uid", ref["uid"]))


def _workload(obj: dict[str, Any], name: str, filled: list[Filled]) -> None:
    spec = obj.setdefault("spec", {})
    meta_name = obj["metadata"].get("name", "app")
    template = spec.get("template")
    labels = (((template or {}).get("metadata") or {}).get("labels")
              or obj["metadata"].get("labels") or {"app": meta_name})
    if not spec.get("selector"):
        spec["selector"] = {"matchLabels": dict(labels)}
        filled.append(Filled(name, "spec.selector", json.dumps(spec["selector"], sort_keys=True)))
    if not template:
        spec["template"] = {"metadata": {"labels": dict(labels)},
                            "spec": {"containers": [{"name": "app", "image": f"registry.local/{meta_name}:latest"}]}}
        filled.append(Filled(name, "spec.template", "one container 'app'"))
    elif not (template.get("spec") or {}).get("containers"):
        template.setdefault("spec", {})["containers"] = [{"name": "app",
                                                          "image": f"registry.local/{meta_name}:latest"}]
        filled.append(Filled(name, "spec.template.spec.containers", "one container 'app'"))


def _pod(obj: dict[str, Any], name: str, filled: list[Filled]) -> None:
    status = obj.get("status") or {}
    spec = obj.setdefault("spec", {})
    for key in ("containerStatuses", "initContainerStatuses"):
        for i, cs in enumerate(status.get(key) or []):
            for field, value in (("name", f"c{i}"), ("image", "registry.local/unknown:latest"),
                                 ("ready", False), ("restartCount", 0)):
                if cs.get(field) is None:
                    cs[field] = value
                    filled.append(Filled(name, f"status.{key}[{i}].{field}", str(value)))
            if not cs.get("imageID"):
                digest = hashlib.sha256(str(cs["image"]).encode()).hexdigest()
                cs["imageID"] = f"{str(cs['image']).split(':')[0]}@sha256:{digest}"
                filled.append(Filled(name, f"status.{key}[{i}].imageID", cs["imageID"]))
    if not spec.get("containers"):
        statuses = status.get("containerStatuses") or [{"name": "app", "image": "registry.local/unknown:latest"}]
        spec["containers"] = [{"name": cs["name"], "image": cs["image"]} for cs in statuses]
        filled.append(Filled(name, "spec.containers", ", ".join(c["name"] for c in spec["containers"])))


def model_name(obj: dict[str, Any]) -> str | None:
    """The official client's model for an object (`V1Deployment`, `CoreV1Event`), or None for unknown kinds."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    group, _, version = api_version.rpartition("/")
    ver = version[:1].upper() + version[1:]
    group_prefix = "".join(p.capitalize() for p in group.split(".")[0].split("-")) if group else "Core"
    for candidate in (f"{ver}{kind}", f"{group_prefix}{ver}{kind}"):
        if hasattr(k8s, candidate):
            return candidate
    return None


@functools.cache
def _api() -> k8s.ApiClient:
    return k8s.ApiClient()  # only its deserializer is used; it never connects


def validate(obj: dict[str, Any], where: str) -> None:
    """Deserialize `obj` as the official client would; ConfigError naming `where` and the field if it fails."""
    for required in ("apiVersion", "kind"):
        if not obj.get(required):
            raise ConfigError(f"{where}: {required} is required")
    if not (obj.get("metadata") or {}).get("name"):
        raise ConfigError(f"{where}: metadata.name is required")
    model = model_name(obj)
    if model is None:
        return  # a custom resource: the client reads it as a plain dict
    try:
        _api().deserialize(json.dumps(obj), model, "application/json")
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{where} ({describe(obj)}): the official client rejects it: "
                          f"{exc.title}.{field}: {err['msg']}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where} ({describe(obj)}): the official client rejects it: {exc}") from exc
