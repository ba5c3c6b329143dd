from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _printable(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a 5xx
        raise ValueError("el texto no puede contener el carácter NUL")
    return value


Text = Annotated[str, AfterValidator(_printable)]
