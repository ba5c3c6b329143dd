"""The in-process fallback of the sign-in limits holds a bounded number of counters."""

from __future__ import annotations

from limits import parse
from limits.aio.strategies import FixedWindowRateLimiter

from contravento.services.auth_limits import BoundedMemoryStorage, account_id


async def test_a_flood_of_distinct_keys_keeps_at_most_max_keys() -> None:
    storage = BoundedMemoryStorage(max_keys=100)
    limiter = FixedWindowRateLimiter(storage)
    item = parse("5/minute")
    for n in range(1_000):
        assert await limiter.hit(item, "login", f"user{n}")
    assert len(storage.storage) == 100
    assert len(storage.expirations) <= 100
    # the newest counters are the ones kept, and they still count
    for _ in range(4):
        assert await limiter.hit(item, "login", "user999")
    assert not await limiter.hit(item, "login", "user999")
    assert await limiter.hit(item, "login", "user0")  # evicted long ago: a fresh counter


async def test_an_existing_counter_is_never_evicted_by_its_own_hits() -> None:
    storage = BoundedMemoryStorage(max_keys=100)
    limiter = FixedWindowRateLimiter(storage)
    item = parse("3/minute")
    for n in range(100):
        await limiter.hit(item, "ip", f"10.0.0.{n}")
    for _ in range(2):  # the oldest counter, at the bound: its 2nd and 3rd hits
        assert await limiter.hit(item, "ip", "10.0.0.0")
    assert not await limiter.hit(item, "ip", "10.0.0.0")
    assert len(storage.storage) == 100


def test_accounts_are_keyed_by_a_hash_of_the_normalised_email() -> None:
    assert account_id(" Ana@Example.com ") == account_id("ana@example.com")
    assert "@" not in account_id("ana@example.com")
