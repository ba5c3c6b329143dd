"""The same ride in another file: start within 60 s, distance within 2 % or 0.1 km."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contravento.domain.same_ride import RideKey, distance_tolerance_km, same_ride

T0 = datetime(2024, 5, 12, 7, 30, tzinfo=UTC)


def ride(offset_s: float = 0.0, km: float = 50.0) -> RideKey:
    return RideKey(T0 + timedelta(seconds=offset_s), km)


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (ride(0, 50.0), True),
        (ride(60, 50.0), True),  # the start tolerance, inclusive
        (ride(-60, 50.0), True),
        (ride(61, 50.0), False),
        (ride(-60.5, 50.0), False),
        (ride(0, 51.0), True),  # 2 % of 51 km = 1.02 km
        (ride(0, 49.0), True),  # 2 % of 50 km = 1.0 km
        (ride(0, 51.1), False),
        (ride(0, 48.9), False),
        (ride(3600, 50.0), False),  # an hour later: the next lap, not the same ride
    ],
)
def test_fifty_km_ride(other: RideKey, same: bool) -> None:
    assert same_ride(ride(), other) is same
    assert same_ride(other, ride()) is same  # symmetric


def test_a_short_ride_gets_a_tenth_of_a_km() -> None:
    assert distance_tolerance_km(2.0, 2.05) == pytest.approx(0.1)
    assert same_ride(ride(km=2.0), ride(km=2.1))
    assert not same_ride(ride(km=2.0), ride(km=2.11))
    assert same_ride(ride(km=0.0), ride(km=0.1))


def test_rides_without_a_start_are_never_the_same() -> None:
    untimed = RideKey(None, 50.0)
    assert not same_ride(untimed, untimed)
    assert not same_ride(untimed, ride())
    assert not same_ride(ride(), untimed)


def test_time_zones_are_compared_as_instants() -> None:
    madrid = T0.astimezone(datetime.now(UTC).astimezone().tzinfo)
    assert same_ride(ride(), RideKey(madrid + timedelta(seconds=30), 50.0))


@given(
    a_s=st.floats(-1e6, 1e6),
    b_s=st.floats(-1e6, 1e6),
    a_km=st.floats(0, 1000),
    b_km=st.floats(0, 1000),
)
def test_symmetric_and_reflexive(a_s: float, b_s: float, a_km: float, b_km: float) -> None:
    a, b = ride(a_s, a_km), ride(b_s, b_km)
    assert same_ride(a, a)
    assert same_ride(a, b) == same_ride(b, a)
    if same_ride(a, b):
        assert abs(a_s - b_s) <= 60 and abs(a_km - b_km) <= max(0.02 * max(a_km, b_km), 0.1)
