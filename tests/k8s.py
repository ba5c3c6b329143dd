"""Render the Kubernetes overlays with `kubectl kustomize` (offline) and read what came out."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.support import unavailable

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("staging", "prod")
CLUSTER_DOMAIN = "svc.cluster.local"

Obj = dict[str, Any]


@cache
def _render(path: str) -> tuple[Obj, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        unavailable("kubectl (make test installs it)", FileNotFoundError("kubectl"))
    done = subprocess.run(
        [str(kubectl), "kustomize", path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def render(overlay: str) -> list[Obj]:
    """Every object of an overlay ("base" for the base alone)."""
    path = K8S / "base" if overlay == "base" else K8S / "overlays" / overlay
    return list(_render(str(path)))


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in objects])
    return found[0]


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        spec: Obj = obj["spec"]["template"]["spec"]
        return spec
    return None


def containers(obj: Obj) -> list[Obj]:
    spec = pod_spec(obj) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def main_container(obj: Obj) -> Obj:
    spec = pod_spec(obj)
    assert spec is not None
    [container] = [c for c in spec["containers"] if c["name"] == "contravento"]
    return container


def config_map(objects: list[Obj]) -> dict[str, str]:
    """The data of the generated contravento-config (its name carries a hash suffix)."""
    [cm] = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("contravento-config-")
    ]
    data: dict[str, str] = cm["data"]
    return data


def env(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


def redis_endpoints(redis_url: str) -> tuple[list[tuple[str, int]], int]:
    """Hosts and database of a REDIS_URL as the app reads it: redis://…/N or sentinel://…;…/N."""
    parts = redis_url.split(";")
    hosts = []
    for part in parts:
        url = urlsplit(part.replace("$(REDIS_PASSWORD)", "password"))
        assert url.scheme in ("redis", "rediss", "sentinel"), part
        assert url.hostname and url.port, part
        hosts.append((url.hostname, url.port))
    match = re.search(r"/(\d+)$", parts[-1])
    return hosts, int(match.group(1)) if match else 0


def qualified(host: str, namespace: str) -> str:
    """A Service name as seen from another namespace (KEDA's operator)."""
    return host if host.endswith(CLUSTER_DOMAIN) else f"{host}.{namespace}.{CLUSTER_DOMAIN}"
