from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _printable(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a 5xx
        raise ValueError("el texto no puede contener el carácter NUL")
    return value


Text = Annotated[str, AfterValidator(_printable)]
# a name shown in lists: surrounding blanks dropped before the length rules apply
Title = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_printable)]
