"""Validation errors in Spanish: the field by its name and the rule it broke."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contravento.api.validation import message, validation_message
from contravento.schemas.auth import RegisterIn
from contravento.schemas.gpx import GPXFilePatch
from contravento.schemas.trips import TripIn


def _messages(model: type[BaseModel], data: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [message({**e, "loc": ("body", *e["loc"])}) for e in caught.value.errors()]


def test_register_rules_name_the_field() -> None:
    assert _messages(RegisterIn, {"email": "ana", "password": "corta", "display_name": ""}) == [
        "El correo electrónico no es una dirección válida.",
        "La contraseña debe tener al menos 8 caracteres.",
        "El nombre no puede estar vacío.",
    ]
    assert _messages(RegisterIn, {"password": "p" * 129}) == [
        "El correo electrónico es obligatorio.",
        "La contraseña no puede tener más de 128 caracteres.",
        "El nombre es obligatorio.",
    ]
    assert _messages(
        RegisterIn, {"email": "a@b.es", "password": 12345678, "display_name": "A"}
    ) == ["La contraseña debe ser un texto."]
    assert _messages(
        RegisterIn, {"email": "a@b.es", "password": "pedales\x00123", "display_name": "A"}
    ) == ["La contraseña no puede contener el carácter NUL."]


def test_feminine_fields_agree() -> None:
    assert message({"type": "missing", "loc": ("body", "password")}) == (
        "La contraseña es obligatoria."
    )
    assert message(
        {"type": "string_too_short", "loc": ("body", "description"), "ctx": {"min_length": 1}}
    ) == ("La descripción no puede estar vacía.")


def test_trip_title_blank_and_long() -> None:
    assert _messages(TripIn, {"title": "   "}) == ["El título no puede estar vacío."]
    assert _messages(TripIn, {"title": "t" * 201, "description": "d" * 5001}) == [
        "El título no puede tener más de 200 caracteres.",
        "La descripción no puede tener más de 5000 caracteres.",
    ]
    assert _messages(GPXFilePatch, {}) == ["El título es obligatorio."]


def test_query_numbers_unknown_fields_and_bodies() -> None:
    assert message({"type": "less_than_equal", "loc": ("query", "limit"), "ctx": {"le": 100}}) == (
        "El límite debe ser como máximo 100."
    )
    assert message({"type": "int_parsing", "loc": ("query", "offset")}) == (
        "El desplazamiento debe ser un número entero."
    )
    assert message({"type": "string_type", "loc": ("body", "extra", 0)}) == (
        "El campo «extra.0» debe ser un texto."
    )
    assert message({"type": "json_invalid", "loc": ("body", 12)}) == (
        "El cuerpo de la petición no es un JSON válido."
    )
    assert message({"type": "model_attributes_type", "loc": ("body",)}) == (
        "El cuerpo de la petición debe ser un objeto JSON."
    )
    assert message({"type": "something_new", "loc": ("body", "title")}) == (
        "El título no es válido."
    )


def test_one_sentence_per_field_and_rule() -> None:
    twice = {"type": "missing", "loc": ("body", "email")}
    assert validation_message([twice, twice]) == "El correo electrónico es obligatorio."
    assert validation_message([]) == "Datos no válidos."
