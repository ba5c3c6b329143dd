"""The simulated ride of bench/gpxgen.py as a FIT activity, encoded by Garmin's own SDK.

``generate_fit(size_mb, seed)`` returns about ``size_mb`` MB (10**6 bytes) of FIT: file_id,
one record a second (position, enhanced altitude, heart rate, cadence, power, temperature,
distance, speed), a session with the device's totals. Files are cached in bench/data/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
from garmin_fit_sdk import Encoder, Profile

from bench.gpxgen import _START, BYTES_PER_MB, DATA_DIR, _simulate
from contravento.domain.geo import haversine_m

_MESG = Profile["mesg_num"]
_SEMI = 2**31 / 180.0
_RECORD_BYTES = 30  # what one record of these fields takes


def generate_fit(size_mb: float, seed: int = 0) -> bytes:
    n = max(10, int(size_mb * BYTES_PER_MB) // _RECORD_BYTES)
    cols = _simulate(n, np.random.default_rng(seed))
    lat, lon = cols["lat"], cols["lon"]
    step = np.concatenate(([0.0], haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])))
    dist = np.cumsum(step)
    enc = Encoder()
    file_id = {"type": "activity", "manufacturer": "development", "product": 0}
    enc.on_mesg(_MESG["FILE_ID"], {**file_id, "time_created": _START, "serial_number": seed})
    for i in range(n):
        enc.on_mesg(_MESG["RECORD"], {
            "timestamp": _START + timedelta(seconds=i),
            "position_lat": round(float(lat[i]) * _SEMI),
            "position_long": round(float(lon[i]) * _SEMI),
            "enhanced_altitude": float(cols["ele"][i]),
            "heart_rate": int(cols["hr"][i]), "cadence": int(cols["cad"][i]),
            "power": int(cols["power"][i]), "temperature": round(float(cols["atemp"][i])),
            "distance": float(dist[i]), "enhanced_speed": float(step[i]),
        })  # fmt: skip
    enc.on_mesg(_MESG["SESSION"], {
        "start_time": _START, "timestamp": _START + timedelta(seconds=n),
        "total_distance": float(dist[-1]), "total_timer_time": float(n),
        "total_elapsed_time": float(n), "sport": "cycling",
    })  # fmt: skip
    data: bytes = enc.close()
    return data


def ensure_fit(size_mb: float, seed: int = 0) -> Path:
    path = DATA_DIR / f"ride-{size_mb:g}mb-seed{seed}.fit"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(generate_fit(size_mb, seed))
        tmp.replace(path)
    return path


if __name__ == "__main__":
    for size in (10.0, 50.0):
        print(ensure_fit(size))
