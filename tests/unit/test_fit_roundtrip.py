"""Round trips: random tracks encoded by Garmin's own FIT encoder read back by parse_fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from garmin_fit_sdk import Encoder, Profile
from hypothesis import given, settings
from hypothesis import strategies as st

from contravento.domain.fit import parse_fit

MESG = Profile["mesg_num"]
START = datetime(2024, 5, 12, 7, 30, tzinfo=UTC)
SEMI = 2**31 / 180.0

points = st.lists(
    st.tuples(
        st.floats(-89.9, 89.9),
        st.floats(-179.9, 179.9),
        st.floats(-400, 8000),
        st.integers(40, 220),
        st.integers(0, 2000),
    ).filter(lambda p: abs(p[0]) > 1e-6 or abs(p[1]) > 1e-6),  # 0, 0 is "no fix" in FIT
    min_size=1,
    max_size=60,
)


def encode(track: list[tuple[float, float, float, int, int]], distance_m: float) -> bytes:
    enc = Encoder()
    enc.on_mesg(MESG["FILE_ID"], {"type": "activity", "manufacturer": "development",
                                  "product": 0, "time_created": START, "serial_number": 7})  # fmt: skip
    for i, (lat, lon, ele, hr, power) in enumerate(track):
        enc.on_mesg(MESG["RECORD"], {
            "timestamp": START + timedelta(seconds=i),
            "position_lat": round(lat * SEMI), "position_long": round(lon * SEMI),
            "enhanced_altitude": ele, "heart_rate": hr, "power": power,
        })  # fmt: skip
    enc.on_mesg(MESG["SESSION"], {
        "start_time": START, "timestamp": START + timedelta(seconds=len(track)),
        "total_distance": distance_m, "total_timer_time": float(len(track)),
        "total_elapsed_time": float(len(track)), "sport": "cycling",
    })  # fmt: skip
    data: bytes = enc.close()
    return data


@settings(max_examples=40, deadline=None)
@given(points, st.floats(0, 400_000))
def test_round_trip(track: list[tuple[float, float, float, int, int]], distance_m: float) -> None:
    parsed = parse_fit(encode(track, distance_m), max_points=10_000)
    assert parsed.parse_warnings == ()
    kept = track
    assert parsed.point_count == len(kept)
    seg = parsed.segments[0]
    want = np.array(kept)
    np.testing.assert_allclose(seg.lat, want[:, 0], atol=1e-6)
    np.testing.assert_allclose(seg.lon, want[:, 1], atol=1e-6)
    np.testing.assert_allclose(seg.ele, want[:, 2], atol=0.21)  # FIT stores 0.2 m steps
    np.testing.assert_array_equal(seg.sensors["hr"], want[:, 3])
    np.testing.assert_array_equal(seg.sensors["power"], want[:, 4])
    assert seg.time[0] == np.datetime64("2024-05-12T07:30:00.000")
    assert np.all(np.diff(seg.time.astype(np.int64)) >= 1000)
    session = parsed.device_sessions[0]
    assert session.sport == "cycling" and session.timer_time_s == len(track)
    assert session.distance_km is not None
    assert abs(session.distance_km * 1000 - distance_m) <= 0.01
