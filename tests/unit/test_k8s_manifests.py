"""deploy/k8s rendered offline (`kubectl kustomize`) and checked object by object.

Every object of every overlay is validated against the Kubernetes OpenAPI schemas that
kubernetes-validate ships (strict: an unknown field is an error) or, for KEDA's objects,
against the CRDs vendored under deploy/k8s/schemas/keda (made strict the same way). Then the
properties the product promises: KEDA 2 → 10 on the very list and database the app publishes to,
a grace period that outlives the task time limit, migrations before the pods, Flower private,
no secret values, every container limited, non-root, read-only, without capabilities.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from contravento.cli import build_parser
from contravento.config import Settings
from tests.k8s import (
    K8S,
    OVERLAYS,
    ROOT,
    Obj,
    config_map,
    containers,
    env,
    main_container,
    one,
    pod_spec,
    qualified,
    redis_endpoints,
    render,
)

# Oldest and newest minor releases we claim (both ship with kubernetes-validate).
KUBERNETES_VERSIONS = ("1.30.0", "1.34.0")
KEDA_CRDS = {
    "ScaledObject": "keda.sh_scaledobjects.yaml",
    "TriggerAuthentication": "keda.sh_triggerauthentications.yaml",
}
KINDS = {
    "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "NetworkPolicy",
    "PodDisruptionBudget", "ScaledObject", "Service", "ServiceAccount", "StatefulSet",
    "TriggerAuthentication",
}  # fmt: skip
# Trigger metadata KEDA reads (its docs, "Redis Lists" and "Redis Lists (supports Redis
# Sentinel)"); the CRD leaves metadata a free string map, so a typo would pass it silently.
TRIGGER_KEYS = {
    "redis": {
        "address", "host", "port", "addressFromEnv", "hostFromEnv", "portFromEnv",
        "usernameFromEnv", "passwordFromEnv", "listName", "listLength",
        "activationListLength", "enableTLS", "unsafeSsl", "databaseIndex",
    },
    "redis-sentinel": {
        "addresses", "hosts", "ports", "addressesFromEnv", "hostsFromEnv", "portsFromEnv",
        "usernameFromEnv", "passwordFromEnv", "sentinelUsernameFromEnv",
        "sentinelPasswordFromEnv", "sentinelMaster", "sentinelMasterFromEnv", "listName",
        "listLength", "activationListLength", "enableTLS", "unsafeSsl", "databaseIndex",
    },
}  # fmt: skip
AUTH_PARAMETERS = {"username", "password", "sentinelUsername", "sentinelPassword"}
# read by something other than Settings: boto3 (credentials), the Redis container, Flower
FOREIGN_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "REDIS_PASSWORD"}
SECRET_SETTINGS = {
    "SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN", "FLOWER_BASIC_AUTH", "FLOWER_COOKIE_SECRET",
    "FLOWER_OAUTH2_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "REDIS_PASSWORD",
}  # fmt: skip
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
APP_ROLES = ("api", "worker", "reconciler", "flower")


def _strict(schema: Any) -> Any:
    """A structural CRD schema prunes unknown fields; for a test, reject them instead."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def keda_schema(kind: str) -> dict[str, Any]:
    crd = yaml.safe_load((K8S / "schemas" / "keda" / KEDA_CRDS[kind]).read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["storage"]]
    assert version["name"] == "v1alpha1" and version["served"]
    schema: dict[str, Any] = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    return schema


@pytest.fixture(params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[Obj]:
    return render(request.param)


def namespace_of(objects: list[Obj]) -> str:
    namespaces = {o["metadata"].get("namespace") for o in objects}
    assert len(namespaces) == 1, namespaces
    [ns] = namespaces
    assert isinstance(ns, str)
    return ns


def workload(objects: list[Obj], role: str) -> Obj:
    return one(objects, "Deployment", f"contravento-{role}")


# ---- schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_every_object_is_valid_for_kubernetes_and_keda(overlay: str) -> None:
    objects = render(overlay)
    assert {o["kind"] for o in objects} <= KINDS, {o["kind"] for o in objects} - KINDS
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("keda.sh/"):
            assert obj["apiVersion"] == "keda.sh/v1alpha1", name
            jsonschema.Draft7Validator(keda_schema(obj["kind"])).validate(obj)
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{overlay}: {name} invalid for Kubernetes {version}: {error}")


def test_the_strict_schemas_reject_what_a_cluster_would_prune_or_refuse() -> None:
    """The validation above can fail: a misspelt field and a wrong type are caught."""
    scaled = copy.deepcopy(one(render("prod"), "ScaledObject", "contravento-worker"))
    scaled["spec"]["minReplicas"] = 2  # the HPA's word, not KEDA's
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(keda_schema("ScaledObject")).validate(scaled)
    worker = copy.deepcopy(workload(render("prod"), "worker"))
    worker["spec"]["template"]["spec"]["terminationGracePeriod"] = 360
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, KUBERNETES_VERSIONS[0], strict=True)


def test_the_vendored_crds_name_their_source_and_licence() -> None:
    folder = K8S / "schemas" / "keda"
    assert "Apache License" in (folder / "LICENSE").read_text()[:200]
    vendor = (folder / "VENDOR.md").read_text()
    assert "github.com/kedacore/keda" in vendor
    assert re.search(r"\b[0-9a-f]{40}\b", vendor)  # the commit
    for file in KEDA_CRDS.values():
        assert f"config/crd/bases/{file}" in vendor


# ---- KEDA ----------------------------------------------------------------------------------


def test_keda_scales_the_worker_from_2_to_10_on_the_apps_queue(objects: list[Obj]) -> None:
    scaled = one(objects, "ScaledObject", "contravento-worker")
    spec = scaled["spec"]
    assert spec["minReplicaCount"] == 2 and spec["maxReplicaCount"] == 10
    target = spec["scaleTargetRef"]
    assert target.get("kind", "Deployment") == "Deployment"
    assert workload(objects, "worker")["metadata"]["name"] == target["name"]
    assert "replicas" not in workload(objects, "worker")["spec"]  # an apply never fights KEDA
    assert 5 <= spec["pollingInterval"] <= 30
    scale_down = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert scale_down["stabilizationWindowSeconds"] >= 120  # bursts do not flap the pool

    [trigger] = spec["triggers"]
    meta = trigger["metadata"]
    assert set(meta) <= TRIGGER_KEYS[trigger["type"]], set(meta) - TRIGGER_KEYS[trigger["type"]]
    config = config_map(objects)
    # the list: the app's default queue, the ConfigMap's, the one the workers consume
    assert meta["listName"] == DEFAULTS.celery_queue == config["CELERY_QUEUE"] == "gpx"
    worker_args = main_container(workload(objects, "worker"))["command"]
    assert worker_args[worker_args.index("-Q") + 1] == "$(CELERY_QUEUE)"
    assert int(meta["listLength"]) == 10

    # the database and the hosts: those of the REDIS_URL every pod gets
    namespace = namespace_of(objects)
    urls = {env(main_container(workload(objects, r)))["REDIS_URL"]["value"] for r in APP_ROLES}
    [url] = urls
    hosts, database = redis_endpoints(url)
    assert int(meta.get("databaseIndex", "0")) == database
    wanted = [f"{qualified(host, namespace)}:{port}" for host, port in hosts]
    if trigger["type"] == "redis":
        assert url.startswith("redis://")
        assert [meta["address"]] == wanted
    else:
        assert trigger["type"] == "redis-sentinel" and url.startswith("sentinel://")
        assert [a.strip() for a in meta["addresses"].split(",")] == wanted
        assert meta["sentinelMaster"] == config["REDIS_SENTINEL_MASTER"]

    # the password: the same Secret key the pods expand into REDIS_URL
    auth = one(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert set(refs) <= AUTH_PARAMETERS
    pod_password = env(main_container(workload(objects, "worker")))["REDIS_PASSWORD"]
    secret = pod_password["valueFrom"]["secretKeyRef"]
    assert refs["password"] == (secret["name"], secret["key"])


def test_prod_runs_redis_under_sentinel_and_staging_on_one_node() -> None:
    prod, staging = render("prod"), render("staging")
    assert one(prod, "ScaledObject", "contravento-worker")["spec"]["triggers"][0]["type"] == (
        "redis-sentinel"
    )
    url = env(main_container(workload(prod, "api")))["REDIS_URL"]["value"]
    assert url.count("sentinel://") == 3  # a quorum of sentinels, none a single point
    assert not [o for o in prod if o["kind"] == "StatefulSet"]  # Redis HA is not home-made
    assert one(staging, "StatefulSet", "redis")["spec"]["replicas"] == 1


def test_scale_in_never_kills_a_running_task(objects: list[Obj]) -> None:
    config = config_map(objects)
    hard, soft = int(config["TASK_TIME_LIMIT_S"]), int(config["TASK_SOFT_TIME_LIMIT_S"])
    assert soft < hard == DEFAULTS.task_time_limit_s
    worker = workload(objects, "worker")
    spec = pod_spec(worker)
    assert spec is not None
    assert spec["terminationGracePeriodSeconds"] > hard
    container = main_container(worker)
    assert "preStop" not in container.get("lifecycle", {})  # SIGTERM goes straight to Celery
    assert "livenessProbe" not in container  # a Redis outage must not restart every worker
    assert container["command"][:4] == ["celery", "-A", "contravento.worker.app", "worker"]
    resources = container["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1", "memory": "2Gi"}
    pdb = one(objects, "PodDisruptionBudget", "contravento-worker")
    assert pdb["spec"]["maxUnavailable"] == 1


# ---- the other roles -----------------------------------------------------------------------


def test_migrations_run_before_new_pods_start(objects: list[Obj]) -> None:
    job = one(objects, "Job", "contravento-migrate")
    job_container = main_container(job)
    assert job_container["command"] == ["contravento", "migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"  # type: ignore[index]
    assert build_parser().parse_args(["migrate", "--check"]).check  # the command exists
    for role in ("api", "worker", "reconciler"):
        deployment = workload(objects, role)
        [init] = pod_spec(deployment)["initContainers"]  # type: ignore[index]
        assert "contravento migrate --check" in " ".join(init["command"]), role
        assert init["image"] == main_container(deployment)["image"] == job_container["image"]
        assert main_container(deployment)["image"].rsplit(":", 1)[1] not in ("", "latest")


def test_api_probes_hpa_and_budget(objects: list[Obj]) -> None:
    api = workload(objects, "api")
    container = main_container(api)
    assert container["command"] == ["contravento", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["timeoutSeconds"] > (
        DEFAULTS.ready_timeout_s + DEFAULTS.worker_ping_timeout_s
    )
    [port] = container["ports"]
    assert port["containerPort"] == int(config_map(objects)["PORT"]) == 8000
    hpa = one(objects, "HorizontalPodAutoscaler", "contravento-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "contravento-api"
    assert hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in api["spec"]  # an apply never fights the HPA
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "cpu" in container["resources"]["requests"]  # Utilization is relative to it
    assert one(objects, "PodDisruptionBudget", "contravento-api")["spec"]["maxUnavailable"] == 1


def test_exactly_one_reconciler(objects: list[Obj]) -> None:
    reconciler = workload(objects, "reconciler")
    assert reconciler["spec"]["replicas"] == 1
    assert reconciler["spec"]["strategy"] == {"type": "Recreate"}
    command = main_container(reconciler)["command"]
    assert command[:2] == ["contravento", "reconcile"] and "--every" in command
    assert config_map(objects)["RECONCILE_INTERVAL_S"] == "0"  # the API does not also run it


def test_flower_is_authenticated_and_never_public(objects: list[Obj]) -> None:
    flower = main_container(workload(objects, "flower"))
    assert flower["command"] == ["contravento", "flower"]
    secrets = {e["secretRef"]["name"] for e in flower["envFrom"] if "secretRef" in e}
    assert "contravento-flower" in secrets  # FLOWER_BASIC_AUTH, FLOWER_COOKIE_SECRET
    assert config_map(objects)["APP_ENV"] not in ("development", "testing")  # auth enforced
    service = one(objects, "Service", "contravento-flower")
    assert service["spec"]["type"] == "ClusterIP"
    ingresses = [o for o in objects if o["kind"] == "Ingress"]
    assert [i["metadata"]["name"] for i in ingresses] == ["contravento-api"]
    for ingress in ingresses:
        backends = {
            path["backend"]["service"]["name"]
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        }
        assert backends == {"contravento-api"}
    for obj in objects:  # nothing else reaches outside the cluster
        if obj["kind"] == "Service":
            assert obj["spec"].get("type", "ClusterIP") == "ClusterIP", obj["metadata"]["name"]


def test_services_budgets_and_policies_select_real_pods(objects: list[Obj]) -> None:
    pods = [
        (o["spec"]["template"]["metadata"]["labels"], o) for o in objects if pod_spec(o) is not None
    ]

    def selected(selector: dict[str, str]) -> list[Obj]:
        return [o for labels, o in pods if selector.items() <= labels.items()]

    for obj in objects:
        if obj["kind"] == "Service":
            [target] = selected(obj["spec"]["selector"])
            names = {p["name"] for c in containers(target) for p in c.get("ports", [])}
            for port in obj["spec"]["ports"]:
                assert port["targetPort"] in names, obj["metadata"]["name"]
        if obj["kind"] == "PodDisruptionBudget":
            assert selected(obj["spec"]["selector"]["matchLabels"]), obj["metadata"]["name"]
        if obj["kind"] == "NetworkPolicy":
            assert selected(obj["spec"]["podSelector"]["matchLabels"]), obj["metadata"]["name"]
    deny = one(objects, "NetworkPolicy", "contravento-default-deny-ingress")
    assert "ingress" not in deny["spec"]  # no rule: nothing may connect unless allowed below
    assert len(selected(deny["spec"]["podSelector"]["matchLabels"])) == len(pods)  # every pod


# ---- every container -----------------------------------------------------------------------


def test_every_container_is_limited_non_root_read_only_and_unprivileged(
    objects: list[Obj],
) -> None:
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert pod_security["runAsUser"] != 0
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in containers(obj):
            where = f"{obj['metadata']['name']}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert "privileged" not in security and "runAsUser" not in security, where
            if container["image"].split("/")[-1].startswith("contravento:"):
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                volumes = {v["name"]: v for v in spec["volumes"]}
                assert "emptyDir" in volumes[mounts["/tmp"]], where  # the only writable path


def test_no_secret_values_only_references(objects: list[Obj]) -> None:
    assert not [o for o in objects if o["kind"] == "Secret"]  # created by hand, never committed
    config = config_map(objects)
    assert not set(config) & SECRET_SETTINGS, set(config) & SECRET_SETTINGS
    for obj in objects:
        for container in containers(obj):
            for name, entry in env(container).items():
                if name in SECRET_SETTINGS:
                    assert "secretKeyRef" in entry.get("valueFrom", {}), (name, container["name"])
                value = entry.get("value", "")
                assert not re.search(r"://[^/@]*:[^$/@][^/@]*@", value), (name, value)
    for path in K8S.rglob("*.yaml"):  # nor in the sources (an unused file, a patch)
        text = path.read_text()
        assert not re.search(r"^kind:\s*Secret\s*$", text, flags=re.MULTILINE), path
        assert "stringData" not in text, path


def test_every_variable_is_a_setting(objects: list[Obj]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    app = [o for o in objects if o["metadata"]["name"].startswith("contravento-")]
    for name in config_map(objects):
        assert name in fields, f"ConfigMap: unknown setting {name}"
    for obj in app:
        for container in containers(obj):
            for name in env(container):
                assert name in fields or name in FOREIGN_ENV, f"{container['name']}: {name}"


def test_overlays_differ_where_they_must() -> None:
    staging, prod = render("staging"), render("prod")
    assert namespace_of(staging) != namespace_of(prod)
    hosts = {o["spec"]["rules"][0]["host"] for o in (*staging, *prod) if o["kind"] == "Ingress"}
    assert len(hosts) == 2
    for objects in (staging, prod):
        [ingress] = [o for o in objects if o["kind"] == "Ingress"]
        assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


def test_docs_tell_how_to_create_every_secret_the_manifests_name() -> None:
    names: set[str] = set()
    for overlay in OVERLAYS:
        for obj in render(overlay):
            for container in containers(obj):
                for source in container.get("envFrom", []):
                    if "secretRef" in source:
                        names.add(source["secretRef"]["name"])
                for entry in container.get("env", []):
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        names.add(ref["name"])
    docs = (ROOT / "docs" / "operations.md").read_text()
    for name in names:
        assert f"create secret generic {name}" in docs, name
