"""TCX parsing speed beside its floor and beside GPX, measured in one run.

Run: ``python -m bench.tcx [--mb 10] [--repeat 3]``. The ride is ``bench.gpxgen``'s simulated
1 Hz road ride; the same points are written as a Garmin Connect-shaped TCX (Position,
AltitudeMeters, DistanceMeters, HeartRateBpm, Cadence, TPX Speed and Watts, one lap). Printed,
best of ``--repeat``: lxml building the tree of the TCX bytes (the floor any lxml reader
pays), ``parse_tcx``, ``summarize`` of the TCX, and ``summarize`` of the GPX of the same ride.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from lxml import etree

from bench.domain import machine
from bench.gpxgen import generate_gpx
from contravento.domain import parse_gpx, summarize
from contravento.domain.geo import step_distances_m
from contravento.domain.tcx import parse_tcx

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
    ' xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n'
    ' <Activities>\n  <Activity Sport="Biking">\n   <Id>{start}</Id>\n'
    '   <Lap StartTime="{start}">\n    <TotalTimeSeconds>{seconds}</TotalTimeSeconds>\n'
    "    <DistanceMeters>{metres}</DistanceMeters>\n    <Calories>900</Calories>\n"
    "    <Intensity>Active</Intensity>\n    <TriggerMethod>Manual</TriggerMethod>\n    <Track>\n"
)
_POINT = (
    "     <Trackpoint>\n      <Time>{time}Z</Time>\n      <Position>\n"
    "       <LatitudeDegrees>{lat!r}</LatitudeDegrees>\n"
    "       <LongitudeDegrees>{lon!r}</LongitudeDegrees>\n      </Position>\n"
    "      <AltitudeMeters>{ele!r}</AltitudeMeters>\n"
    "      <DistanceMeters>{dist:.2f}</DistanceMeters>\n"
    "      <HeartRateBpm>\n       <Value>{hr:.0f}</Value>\n      </HeartRateBpm>\n"
    "      <Cadence>{cad:.0f}</Cadence>\n      <Extensions>\n       <ns3:TPX>\n"
    "        <ns3:Speed>{speed:.3f}</ns3:Speed>\n        <ns3:Watts>{watts:.0f}</ns3:Watts>\n"
    "       </ns3:TPX>\n      </Extensions>\n     </Trackpoint>\n"
)
_TAIL = "    </Track>\n   </Lap>\n  </Activity>\n </Activities>\n</TrainingCenterDatabase>\n"


def tcx_of(gpx: bytes) -> bytes:
    """The GPX ride's points written as TCX."""
    track = parse_gpx(gpx)
    seg = track.segments[0]
    steps = step_distances_m(seg.lat, seg.lon)
    dist = np.concatenate([[0.0], np.cumsum(steps)])
    secs = seg.seconds()
    dt = np.diff(secs, prepend=secs[0])
    speed = np.divide(np.concatenate([[0.0], steps]), dt, out=np.zeros_like(dt), where=dt > 0)
    sensors = {k: seg.sensors.get(k, np.zeros(len(seg))) for k in ("hr", "cadence", "power")}
    times = seg.time.astype("datetime64[s]").astype(str)
    parts = [
        _HEAD.format(start=f"{times[0]}Z", seconds=secs[-1] - secs[0], metres=f"{dist[-1]:.1f}")
    ]
    for i in range(len(seg)):
        parts.append(
            _POINT.format(
                time=times[i],
                lat=float(seg.lat[i]),
                lon=float(seg.lon[i]),
                ele=float(seg.ele[i]),
                dist=dist[i],
                hr=np.nan_to_num(sensors["hr"][i]),
                cad=np.nan_to_num(sensors["cadence"][i]),
                speed=speed[i],
                watts=np.nan_to_num(sensors["power"][i]),
            )
        )
    parts.append(_TAIL)
    return "".join(parts).encode()


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0, help="size of the GPX ride")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    gpx = generate_gpx(args.mb, seed=1)
    data = tcx_of(gpx)
    hardened = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    points = parse_tcx(data).point_count
    rows = [
        ("lxml tree of the TCX (floor)", lambda: etree.fromstring(data, hardened)),
        ("parse_tcx", lambda: parse_tcx(data)),
        ("summarize(TCX)", lambda: summarize(data)),
        ("summarize(GPX, same ride)", lambda: summarize(gpx)),
    ]
    print(machine())
    print(f"ride: {points} points; TCX {len(data) / 1e6:.1f} MB, GPX {len(gpx) / 1e6:.1f} MB")
    floor = None
    for label, fn in rows:
        seconds = _best(fn, args.repeat)
        floor = floor or seconds
        print(f"  {label:<30} {seconds * 1000:8.1f} ms   {seconds / floor:5.2f}x the floor")


if __name__ == "__main__":
    main()
