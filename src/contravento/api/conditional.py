"""Conditional GETs (RFC 9110, section 13.1.2): does If-None-Match name our ETag?"""

from __future__ import annotations


def none_match_hits(if_none_match: str | None, etag: str) -> bool:
    """True when the header is ``*`` or lists ``etag`` (weak comparison, as the RFC asks for
    If-None-Match: a ``W/`` prefix is ignored). Our ETags never contain a comma."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)
