"""If-None-Match against our ETag (api/conditional.py)."""

from __future__ import annotations

import pytest

from contravento.api.conditional import none_match_hits

TAG = '"0123456789abcdef0123456789abcdef"'


@pytest.mark.parametrize(
    ("header", "hit"),
    [
        (None, False),
        ("", False),
        (TAG, True),
        (f"W/{TAG}", True),  # weak comparison, as RFC 9110 asks for If-None-Match
        (f'"a", {TAG}', True),
        (f' "a" ,{TAG} ', True),
        ("*", True),
        ('"a", "b"', False),
        (TAG.strip('"'), False),  # not a quoted entity tag
        (TAG[:-2] + '"', False),
    ],
)
def test_none_match(header: str | None, hit: bool) -> None:
    assert none_match_hits(header, TAG) is hit
