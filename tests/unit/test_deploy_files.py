"""The deployment files, checked without a Docker engine: parsed, cross-checked, dry-run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contravento.config import Settings

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "api", "celery_worker", "reconciler", "flower")
# variables read by something other than our Settings (images, Flower's own OAuth2 options)
FOREIGN_ENV = {
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "REDIS_PASSWORD",
    "FLOWER_OAUTH2_KEY",
    "FLOWER_OAUTH2_SECRET",
    "FLOWER_OAUTH2_REDIRECT_URI",
    "AWS_ACCESS_KEY_ID",  # boto3's standard credentials
    "AWS_SECRET_ACCESS_KEY",
}


def compose(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return data


def seconds(value: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smh])", value))


def memory_bytes(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG])B?", value, flags=re.IGNORECASE)
    assert m, value
    return float(m.group(1)) * 1024 ** " KMG".index(m.group(2).upper())


@pytest.fixture(params=["docker-compose.local.yml", "docker-compose.prod.yml"])
def stack(request: pytest.FixtureRequest) -> dict[str, Any]:
    return compose(request.param)


def test_services_volumes_and_one_image(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    assert {"pg_data", "redis_data", "gpx_storage"} <= set(stack["volumes"])
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, images  # one image for API, worker, reconciler and Flower
    for name in ("api", "celery_worker", "reconciler"):
        assert "gpx_storage:/data/storage" in services[name]["volumes"]  # originals are shared
    assert "pg_data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis_data:/data" in services["redis"]["volumes"]


def _redis_command(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_redis_is_durable_and_never_evicts(stack: dict[str, Any]) -> None:
    redis = stack["services"]["redis"]
    command = re.sub(r'"', "", _redis_command(redis))
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_healthchecks_everywhere_that_serves(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/healthcheck" in " ".join(services["flower"]["healthcheck"]["test"])
    worker_check = " ".join(services["celery_worker"]["healthcheck"]["test"])
    assert "celery -A contravento.worker.app inspect ping -d celery@$$HOSTNAME" in worker_check


def test_api_waits_for_healthy_data_and_migrations(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name in ("api", "celery_worker", "reconciler"):
        deps = services[name]["depends_on"]
        assert deps["postgres"] == {"condition": "service_healthy"}
        assert deps["redis"] == {"condition": "service_healthy"}
        assert deps["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["command"] == ["contravento", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["command"] == ["contravento", "serve"]
    assert services["api"]["environment"]["AUTO_MIGRATE"] == "false"
    assert services["reconciler"]["command"][:2] == ["contravento", "reconcile"]


def test_worker_grace_period_outlives_the_task_time_limit(stack: dict[str, Any]) -> None:
    worker = stack["services"]["celery_worker"]
    limit = float(worker["environment"]["TASK_TIME_LIMIT_S"])
    assert limit >= float(worker["environment"]["TASK_SOFT_TIME_LIMIT_S"])
    assert seconds(worker["stop_grace_period"]) > limit
    assert worker["command"][:4] == ["celery", "-A", "contravento.worker.app", "worker"]


def test_flower_runs_with_basic_auth_on_a_private_port(stack: dict[str, Any]) -> None:
    flower = stack["services"]["flower"]
    assert flower["command"] == ["contravento", "flower"]
    env = flower["environment"]
    assert env["FLOWER_BASIC_AUTH"] and env["FLOWER_COOKIE_SECRET"]
    assert flower["ports"] == ["127.0.0.1:5555:5555"]


def test_every_app_variable_is_a_setting(stack: dict[str, Any]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name in APP_SERVICES:
        for key in stack["services"][name].get("environment", {}):
            assert key in fields or key in FOREIGN_ENV, f"{name}: unknown variable {key}"


def test_production_requires_secrets_and_limits_workers() -> None:
    prod = compose("docker-compose.prod.yml")
    text = (ROOT / "docker-compose.prod.yml").read_text()
    for var in (
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "FLOWER_BASIC_AUTH",
        "FLOWER_COOKIE_SECRET",
        "METRICS_TOKEN",
    ):
        assert re.search(r"\$\{" + var + r":\?", text), f"{var} must be required"
    services = prod["services"]
    assert '--requirepass "$$REDIS_PASSWORD"' in _redis_command(services["redis"])
    assert "$$REDIS_PASSWORD" in " ".join(services["redis"]["healthcheck"]["test"])
    for name in APP_SERVICES:  # the password reaches every client through REDIS_URL
        url = services[name]["environment"]["REDIS_URL"]
        assert url.startswith("${REDIS_URL:-redis://:${REDIS_PASSWORD:?"), url  # or Sentinel's
    worker = services["celery_worker"]
    limits = worker["deploy"]["resources"]["limits"]
    assert float(limits["cpus"]) == 1.0
    assert memory_bytes(limits["memory"]) == 2 * 1024**3
    assert worker["deploy"]["replicas"] == "${WORKER_REPLICAS:-2}"
    for stack in (prod, compose("docker-compose.local.yml")):  # the API's requests come first
        assert stack["services"]["celery_worker"]["cpu_shares"] < 1024
        assert "cpu_shares" not in stack["services"]["api"]
    assert services["api"]["environment"]["CELERY_ENABLED"] == "${API_CELERY_ENABLED:-true}"
    assert services["celery_worker"]["environment"]["CELERY_ENABLED"] == "true"
    for name, service in services.items():  # nothing listens on the public network
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_local_runs_in_development_without_secrets() -> None:
    local = compose("docker-compose.local.yml")
    assert local["services"]["api"]["environment"]["APP_ENV"] == "development"
    # only switches with a default (the rollback's): nothing to set before it starts
    text = (ROOT / "docker-compose.local.yml").read_text()
    assert re.findall(r"\$\{[^}]*\}", text) == ["${API_CELERY_ENABLED:-true}"]


def test_both_stacks_roll_back_through_the_apis_switch_only(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert services["api"]["environment"]["CELERY_ENABLED"] == "${API_CELERY_ENABLED:-true}"
    for name in ("celery_worker", "reconciler", "flower"):  # they keep draining the queue
        assert services[name]["environment"]["CELERY_ENABLED"] == "true", name


def test_production_compose_has_the_s3_settings_and_says_how_redis_is_ha() -> None:
    prod = compose("docker-compose.prod.yml")
    text = (ROOT / "docker-compose.prod.yml").read_text()
    for name in ("api", "celery_worker", "reconciler"):
        env = prod["services"][name]["environment"]
        assert env["STORAGE_BACKEND"] == "${STORAGE_BACKEND:-local}"  # one host by default
        assert env["S3_REGION"] == "${S3_REGION:-us-east-1}"
        for key in ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_PREFIX"):
            assert env[key] == f"${{{key}:-}}", key
        # valueless: passed only when set, so an instance role applies otherwise
        assert env["AWS_ACCESS_KEY_ID"] is None and env["AWS_SECRET_ACCESS_KEY"] is None
        assert env["REDIS_SENTINEL_MASTER"] == "${REDIS_SENTINEL_MASTER:-mymaster}"
    assert "REDIS_URL=sentinel://" in text and "REDIS_SENTINEL_MASTER=mymaster" in text


def _compose_spec_check(*files: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(tool), "--builtin-schema", "vendor.compose-spec", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_files_follow_the_compose_specification(tmp_path: Path) -> None:
    """Validated against the Compose specification's JSON schema (offline), not only parsed."""
    files = [ROOT / "docker-compose.local.yml", ROOT / "docker-compose.prod.yml"]
    done = _compose_spec_check(*files)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "docker-compose.broken.yml"  # the same check fails on a typo
    broken.write_text(files[1].read_text().replace("stop_grace_period:", "stop_grace_periods:"))
    failed = _compose_spec_check(broken)
    assert failed.returncode != 0 and "stop_grace_periods" in failed.stdout


def test_dockerfile_multi_stage_slim_non_root_from_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.MULTILINE)
    assert [alias for _image, alias in stages] == ["uv", "builder", "runtime"]
    assert "slim" in re.search(r"ARG PYTHON_IMAGE=(\S+)", text).group(1)  # type: ignore[union-attr]
    assert text.count("uv sync --frozen --no-dev") == 2  # deps layer, then the project
    runtime = text.split("AS runtime", 1)[1]
    assert "COPY --from=uv" not in runtime and "gcc" not in runtime  # no uv, no compiler
    users = re.findall(r"^USER\s+(\S+)", runtime, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^CMD \["contravento", "serve"\]', runtime, flags=re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".env" in ignored and ".git" in ignored


def test_alert_rules() -> None:
    rules_file = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    rules = {r["alert"]: r for g in rules_file["groups"] for r in g["rules"]}
    assert set(rules) == {
        "ContraVentoNoWorkerHeartbeat",
        "ContraVentoQueueBacklog",
        "ContraVentoHighFailureRate",
    }
    heartbeat = rules["ContraVentoNoWorkerHeartbeat"]
    assert heartbeat["for"] == "5m" and heartbeat["labels"]["severity"] == "critical"
    assert "contravento_workers_alive" in heartbeat["expr"]
    backlog = rules["ContraVentoQueueBacklog"]
    assert backlog["for"] == "10m" and "contravento_queue_depth" in backlog["expr"]
    assert re.search(r">\s*100\b", backlog["expr"])
    failures = rules["ContraVentoHighFailureRate"]
    assert "contravento_jobs_finished_window" in failures["expr"]
    assert re.search(r">\s*0\.10?\b", failures["expr"])
    assert Settings(_env_file=None).metrics_window_s == 15 * 60  # type: ignore[call-arg]
    for rule in rules.values():
        assert rule["expr"].count("(") == rule["expr"].count(")")
        assert rule["annotations"]["summary"] and "runbook" in rule["annotations"]
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        docs = (ROOT / "docs/operations.md").read_text().lower()
        assert f"### {anchor.replace('-', ' ')}" in docs, anchor


def _fake_bin(tmp: Path) -> Path:
    """docker and curl stand-ins that record their calls (no Docker engine here)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        "#!/usr/bin/env bash\n"
        'echo "docker $* | API_CELERY_ENABLED=${API_CELERY_ENABLED:-unset}" >> "$CALLS"\n'
        'case "$*" in *" port api 8000"*) echo "0.0.0.0:8000";; '
        '*" ps -q api"*) echo abc123;; '
        "*inspect*) echo contravento:old;; esac\n"
    )
    (bin_dir / "curl").write_text(
        '#!/usr/bin/env bash\necho "curl $*" >> "$CALLS"\necho \'{"status":"ok","checks":{}}\'\n'
    )
    for tool in ("docker", "curl"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def _run_deploy(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    work = tmp / "repo"
    work.mkdir(exist_ok=True)
    for name in ("deploy.sh", "docker-compose.local.yml", "docker-compose.prod.yml"):
        shutil.copy(ROOT / name, work / name)
    (work / ".env.prod").write_text("SECRET_KEY=x\n")
    calls = tmp / "calls.log"
    env = {**os.environ, "PATH": f"{_fake_bin(tmp)}:{os.environ['PATH']}", "CALLS": str(calls)}
    env.pop("API_CELERY_ENABLED", None)
    done = subprocess.run(
        ["bash", str(work / "deploy.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done, calls.read_text().splitlines() if calls.exists() else []


def test_deploy_prod_builds_starts_waits_and_prints_endpoints(tmp_path: Path) -> None:
    done, calls = _run_deploy(tmp_path, "prod")
    assert done.returncode == 0, done.stderr
    assert any(c.startswith("docker build -t contravento:") for c in calls), calls
    up = [c for c in calls if " up -d" in c]
    assert up and "-p contravento-prod -f docker-compose.prod.yml --env-file .env.prod" in up[0]
    assert any("/ready" in c for c in calls if c.startswith("curl"))
    assert "http://127.0.0.1:8000" in done.stdout and "5555" in done.stdout


def test_deploy_rollback_turns_celery_off_for_the_api_only(tmp_path: Path) -> None:
    done, calls = _run_deploy(tmp_path, "rollback")
    assert done.returncode == 0, done.stderr
    [up] = [c for c in calls if " up -d" in c]
    assert up.endswith("up -d --no-deps --force-recreate api | API_CELERY_ENABLED=false"), up
    assert "contravento-prod" in up


def test_deploy_rollback_works_against_the_local_stack(tmp_path: Path) -> None:
    done, calls = _run_deploy(tmp_path, "rollback", "local")
    assert done.returncode == 0, done.stderr
    [up] = [c for c in calls if " up -d" in c]
    assert up == (
        "docker compose -f docker-compose.local.yml up -d --no-deps --force-recreate api"
        " | API_CELERY_ENABLED=false"
    ), up
    assert not [c for c in calls if "inspect" in c]  # the local image is built, not looked up
    assert "export API_CELERY_ENABLED=false" in done.stdout


def test_deploy_without_arguments_prints_usage(tmp_path: Path) -> None:
    done, calls = _run_deploy(tmp_path)
    assert done.returncode == 2 and "rollback" in done.stdout and calls == []
