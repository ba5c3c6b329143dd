"""An unknown e-mail costs what a wrong password costs: one argon2 verification, off the loop.

No timing assertions: the hasher's verify is counted and its thread recorded
(`python -m bench.auth` measures the times).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters

from contravento.services import security
from tests.integration.conftest import Api
from tests.support import unique


class _Spy:
    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.calls: list[tuple[str, int]] = []  # (hash, thread id)

    def verify(self, password_hash: str, password: str) -> Any:
        self.calls.append((password_hash, threading.get_ident()))
        return self.hasher.verify(password_hash, password)

    def hash(self, password: str) -> str:
        self.calls.append(("<hash>", threading.get_ident()))
        return self.hasher.hash(password)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    value = _Spy(security._hasher)
    monkeypatch.setattr(security, "_hasher", value)
    return value


async def test_unknown_email_and_wrong_password_verify_once_each_off_the_loop(
    api: Api, spy: _Spy
) -> None:
    email = f"{unique('coste')}@example.com"
    r = await api.client.post(
        "/auth/register", json={"email": email, "password": "pedales-123", "display_name": "Ana"}
    )
    assert r.status_code == 201
    loop_thread = threading.get_ident()
    [(_, hash_thread)] = spy.calls
    assert hash_thread != loop_thread, "sign-up hashed on the event loop"

    spy.calls.clear()
    wrong = await api.client.post("/auth/login", json={"email": email, "password": "otra-cosa"})
    [(stored_hash, wrong_thread)] = spy.calls

    spy.calls.clear()
    nobody = f"{unique('nadie')}@example.com"
    unknown = await api.client.post("/auth/login", json={"email": nobody, "password": "otra-cosa"})
    [(dummy_hash, unknown_thread)] = spy.calls

    # same answer, byte for byte
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")
    # one verification each, in a worker thread, against hashes of the same cost
    assert loop_thread not in (wrong_thread, unknown_thread)
    assert dummy_hash != stored_hash
    assert extract_parameters(dummy_hash) == extract_parameters(stored_hash)

    spy.calls.clear()
    ok = await api.client.post("/auth/login", json={"email": email, "password": "pedales-123"})
    assert ok.status_code == 200
    assert [h for h, _ in spy.calls] == [stored_hash]
