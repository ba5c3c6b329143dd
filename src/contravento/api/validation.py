"""Spanish messages for request validation errors: which field, which rule.

The one owner of the mapping from pydantic's error ``type`` and ``ctx`` to a sentence such as
"La contraseña debe tener al menos 8 caracteres." A field missing from ``FIELDS`` is named
"El campo «name»"; a rule missing from the table says the value is not valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple


class Field(NamedTuple):
    name: str  # with its article, as a sentence starts: "La contraseña"
    feminine: bool = False


FIELDS: Mapping[str, Field] = {
    "email": Field("El correo electrónico"),
    "password": Field("La contraseña", feminine=True),
    "display_name": Field("El nombre"),
    "title": Field("El título"),
    "description": Field("La descripción", feminine=True),
    "file": Field("El archivo"),
    "limit": Field("El límite"),
    "offset": Field("El desplazamiento"),
}

_BODY = "El cuerpo de la petición"
_SOURCES = ("body", "query", "path", "header", "cookie")


def field_path(loc: Sequence[object]) -> str:
    """``("body", "password")`` -> ``"password"``; the request part is left out."""
    return ".".join(str(p) for p in loc if p not in _SOURCES)


def _field(loc: Sequence[object]) -> Field | None:
    names = [p for p in loc if isinstance(p, str) and p not in _SOURCES]
    if not names:
        return None
    return FIELDS.get(names[-1], Field(f"El campo «{field_path(loc)}»"))


def _ending(field: Field) -> str:
    return "a" if field.feminine else "o"


def _characters(count: Any) -> str:
    return "1 carácter" if count == 1 else f"{count} caracteres"


def message(error: Mapping[str, Any]) -> str:
    """One sentence for one pydantic error (an item of ``RequestValidationError.errors()``)."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    field = _field(tuple(error.get("loc", ())))
    if kind == "json_invalid":
        return f"{_BODY} no es un JSON válido."
    if field is None:
        if kind in ("model_attributes_type", "dict_type", "model_type"):
            return f"{_BODY} debe ser un objeto JSON."
        if kind == "missing":
            return f"{_BODY} es obligatorio."
        return f"{_BODY} no es válido."
    name, o = field.name, _ending(field)
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str):
        kind = f"string_{kind}"  # a length rule on an optional text: the same words
    if kind == "missing":
        return f"{name} es obligatori{o}."
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return f"{name} no puede estar vací{o}."
        return f"{name} debe tener al menos {_characters(ctx.get('min_length'))}."
    if kind == "string_too_long":
        return f"{name} no puede tener más de {_characters(ctx.get('max_length'))}."
    if kind in ("string_type", "string_unicode"):
        return f"{name} debe ser un texto."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{name} debe ser un número entero."
    if kind in ("float_type", "float_parsing"):
        return f"{name} debe ser un número."
    if kind == "greater_than_equal":
        return f"{name} debe ser como mínimo {ctx.get('ge')}."
    if kind == "greater_than":
        return f"{name} debe ser mayor que {ctx.get('gt')}."
    if kind == "less_than_equal":
        return f"{name} debe ser como máximo {ctx.get('le')}."
    if kind == "less_than":
        return f"{name} debe ser menor que {ctx.get('lt')}."
    if kind == "extra_forbidden":
        return f"{name} no se admite."
    if kind == "value_error":
        if field == FIELDS["email"] or "email" in str(error.get("msg", "")):
            return f"{name} no es una dirección válida."
        reason = str(ctx.get("error", ""))
        if "NUL" in reason:
            return f"{name} no puede contener el carácter NUL."
    return f"{name} no es válid{o}."


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """Every distinct sentence, in the order of the errors (one per field and rule)."""
    sentences = list(dict.fromkeys(message(e) for e in errors))
    return " ".join(sentences) if sentences else "Datos no válidos."
