"""Settings: defaults for a laptop, and no default secrets outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contravento.config import DEV_SECRET, Settings

TOKEN = "t" * 32


def test_development_defaults_run_on_sqlite_in_process_friendly() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.app_env == "development" and s.is_sqlite
    assert s.gpx_async_threshold_mb == 5 and s.gpx_max_upload_mb == 50
    assert s.max_upload_bytes == 50 * 1024 * 1024


@pytest.mark.parametrize("env", ["production", "staging"])
def test_default_or_short_secret_is_refused_outside_development(env: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, app_env=env, metrics_token=TOKEN)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, app_env=env, secret_key="short", metrics_token=TOKEN)  # type: ignore[call-arg]
    ok = Settings(_env_file=None, app_env=env, secret_key="x" * 40, metrics_token=TOKEN)  # type: ignore[call-arg]
    assert ok.secret_key != DEV_SECRET


@pytest.mark.parametrize("env", ["production", "staging"])
def test_metrics_token_is_required_outside_development(env: str) -> None:
    for token in ("", "short", "y" * 31):
        with pytest.raises(ValidationError, match="METRICS_TOKEN"):
            Settings(_env_file=None, app_env=env, secret_key="x" * 40, metrics_token=token)  # type: ignore[call-arg]
    assert Settings(_env_file=None, app_env="development").metrics_token == ""  # type: ignore[call-arg]


def test_no_testing_environment_can_weaken_a_deployment() -> None:
    """APP_ENV=testing used to skip the secret checks and switch fault injection on: it is no
    longer a value at all (tests run as development; their faults live in tests/harness)."""
    with pytest.raises(ValidationError, match="app_env"):
        Settings(_env_file=None, app_env="testing")  # type: ignore[call-arg]
    import contravento

    package = Path(contravento.__file__).parent
    sources = "\n".join(p.read_text() for p in package.rglob("*.py"))
    for hook in ("FAULT_DIR", "PROCESSING_DELAY_S", "inject_fault"):
        assert hook not in sources, hook


def test_auth_limits_must_parse() -> None:
    with pytest.raises(ValidationError, match="AUTH_IP_RATE_LIMIT"):
        Settings(_env_file=None, auth_ip_rate_limit="lots")  # type: ignore[call-arg]
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.auth_rate_limit, s.auth_ip_rate_limit) == ("5/minute", "30/minute")


def test_rollout_percentage_is_bounded() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, celery_rollout_percentage=101)  # type: ignore[call-arg]
