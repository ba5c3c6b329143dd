"""The pure domain (GPX, TCX): bytes in, values out. No I/O, ORM, settings or logging here."""

from .errors import (
    ALL_GPX_ERRORS,
    GPXError,
    GPXInvalidCoordinatesError,
    GPXMalformedError,
    GPXNotGPXError,
    GPXNoTrackpointsError,
    GPXTooManyPointsError,
    GPXUnsafeXMLError,
    ProcessingCancelled,
)
from .glitches import remove_glitches
from .gpx import parse_gpx
from .pipeline import TrackSummary, summarize
from .simplify import DEFAULT_TOLERANCE_M, SimplifiedTrack, simplify
from .stats import RouteStats, compute_stats
from .tcx import parse_tcx
from .track import ParsedTrack, Segment

__all__ = [
    "ALL_GPX_ERRORS",
    "DEFAULT_TOLERANCE_M",
    "GPXError",
    "GPXInvalidCoordinatesError",
    "GPXMalformedError",
    "GPXNoTrackpointsError",
    "GPXNotGPXError",
    "GPXTooManyPointsError",
    "GPXUnsafeXMLError",
    "ParsedTrack",
    "ProcessingCancelled",
    "RouteStats",
    "Segment",
    "SimplifiedTrack",
    "TrackSummary",
    "compute_stats",
    "parse_gpx",
    "parse_tcx",
    "remove_glitches",
    "simplify",
    "summarize",
]
