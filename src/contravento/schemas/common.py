from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def _printable(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a 5xx
        raise ValueError("el texto no puede contener el carácter NUL")
    return value


def _title(value: str) -> str:
    stripped = _printable(value).strip()
    if not stripped:
        # the same error as an empty text, so it gets the same Spanish message (api/validation)
        raise PydanticCustomError("string_too_short", "blank title", {"min_length": 1})
    return stripped


Text = Annotated[str, AfterValidator(_printable)]
# A name shown in lists: the length rules (the schema's minLength/maxLength) hold for the text
# as sent, then surrounding blanks are dropped and a title of blanks alone is refused. Stripping
# first would accept a body the published schema calls invalid (schemathesis, ST201).
Title = Annotated[str, AfterValidator(_title)]
