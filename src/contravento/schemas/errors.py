from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[str] | None = None


class ErrorOut(BaseModel):
    """Every error: a stable machine code and a Spanish message for the cyclist."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Petición no válida",
    401: "Sin sesión o token inválido",
    404: "No encontrado (o de otro usuario)",
    408: "La subida se detuvo (sin datos durante UPLOAD_IDLE_TIMEOUT_S)",
    409: "Conflicto",
    413: "Archivo demasiado grande",
    415: "Tipo de archivo no admitido",
    422: "Datos no válidos",
    429: "Demasiadas peticiones (subidas pendientes o intentos de acceso; ver Retry-After)",
    503: "Servicio no disponible temporalmente",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting our error body for the given status codes."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}
