"""`contravento flower`: which settings it refuses and the command it runs."""

from __future__ import annotations

from typing import Any

import pytest

from contravento import runner
from contravento.config import Settings

PROD: dict[str, Any] = {"app_env": "production", "secret_key": "p" * 40, "metrics_token": "m" * 32}


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_development_may_run_without_credentials() -> None:
    assert runner.flower_problems(_settings(app_env="development")) == []


def test_production_refuses_without_credentials_or_cookie_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(**PROD)
    monkeypatch.setattr(runner, "get_settings", lambda: settings)
    monkeypatch.setattr(runner.os, "execve", lambda *a: pytest.fail("must not start"))
    assert runner.flower() == 2
    err = capsys.readouterr().err
    assert "FLOWER_BASIC_AUTH" in err and "FLOWER_COOKIE_SECRET" in err


def test_production_with_basic_auth_and_cookie_secret() -> None:
    settings = _settings(
        **PROD, flower_basic_auth="ops:pw", flower_cookie_secret="c" * 40, flower_port=5599
    )
    assert runner.flower_problems(settings) == []
    cmd = runner.flower_command(settings)
    assert cmd[1:4] == ["-A", "contravento.worker.app", "flower"]
    assert "--basic-auth=ops:pw" in cmd and "--port=5599" in cmd
    assert f"--cookie-secret={'c' * 40}" in cmd


def test_production_with_oauth2_needs_the_allowed_emails() -> None:
    base = {**PROD, "flower_cookie_secret": "c" * 40}
    provider = "flower.views.auth.GithubLoginHandler"
    problems = runner.flower_problems(_settings(**base, flower_auth_provider=provider))
    assert any("FLOWER_AUTH" in p for p in problems)
    settings = _settings(**base, flower_auth_provider=provider, flower_auth=".*@contravento.es")
    assert runner.flower_problems(settings) == []
    cmd = runner.flower_command(settings)
    assert f"--auth-provider={provider}" in cmd and "--auth=.*@contravento.es" in cmd


def test_malformed_basic_auth_is_refused() -> None:
    assert runner.flower_problems(_settings(flower_basic_auth="justauser"))


def test_development_without_login_binds_to_loopback_only() -> None:
    for address in ("0.0.0.0", "::", "192.168.1.10", "localhost"):
        problems = runner.flower_problems(_settings(flower_address=address))
        assert any("FLOWER_ADDRESS" in p and "127.0.0.1" in p for p in problems), address
    with_login = _settings(flower_address="0.0.0.0", flower_basic_auth="ops:pw")
    assert runner.flower_problems(with_login) == []  # docker-compose.local.yml


def test_development_without_login_warns_loudly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(runner, "get_settings", lambda: _settings(flower_port=5601))
    monkeypatch.setattr(runner.os, "execve", lambda path, cmd, env: started.append(cmd))
    assert runner.flower() == 0
    err = capsys.readouterr().err
    assert "WITHOUT A LOGIN" in err and "http://127.0.0.1:5601" in err
    [cmd] = started
    assert "--address=127.0.0.1" in cmd and not any(a.startswith("--basic-auth") for a in cmd)


def test_no_warning_with_a_login(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "get_settings", lambda: _settings(flower_basic_auth="ops:pw"))
    monkeypatch.setattr(runner.os, "execve", lambda path, cmd, env: None)
    assert runner.flower() == 0
    assert "WITHOUT A LOGIN" not in capsys.readouterr().err


def test_empty_flower_variables_do_not_reach_flower() -> None:
    env = {"FLOWER_BASIC_AUTH": "", "FLOWER_AUTH": " ", "FLOWER_OAUTH2_KEY": "k", "PATH": "/bin"}
    assert runner.flower_environment(env) == {"FLOWER_OAUTH2_KEY": "k", "PATH": "/bin"}
