"""Every error leaves as {"error": {"code", "message"}} with a Spanish message."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..services.errors import ServiceError, TooManyAttemptsError
from ..services.transient import is_transient
from .validation import field_path, validation_message

log = structlog.get_logger("contravento.api")

_HTTP_MESSAGES = {
    400: ("BAD_REQUEST", "La petición no es válida."),
    401: ("NOT_AUTHENTICATED", "Necesitas iniciar sesión."),
    403: ("FORBIDDEN", "No tienes permiso para esta operación."),
    404: ("NOT_FOUND", "No se ha encontrado el recurso."),
    405: ("METHOD_NOT_ALLOWED", "Método no permitido para esta dirección."),
    406: ("NOT_ACCEPTABLE", "Formato de respuesta no disponible."),
    413: ("PAYLOAD_TOO_LARGE", "La petición es demasiado grande."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Tipo de contenido no admitido."),
    429: ("TOO_MANY_REQUESTS", "Demasiadas peticiones. Espera un momento."),
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route offers for this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        route_methods = getattr(route, "methods", None)
        regex = getattr(route, "path_regex", None)
        if route_methods and regex is not None and regex.match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if isinstance(exc, TooManyAttemptsError):
            headers["Retry-After"] = str(exc.retry_after_s)
        return JSONResponse(error_body(exc.code, exc.message), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        fields = sorted({field_path(tuple(e.get("loc", ()))) for e in errors} - {""})
        body = error_body("VALIDATION_ERROR", validation_message(errors))
        body["error"]["fields"] = fields  # type: ignore[assignment]
        return JSONResponse(body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("HTTP_ERROR", "Error en la petición."))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(error_body(code, message), exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, IntegrityError):  # a concurrent change won: e.g. the trip was deleted
            return JSONResponse(
                error_body("CONFLICT", "Otro cambio se ha cruzado con esta petición. Repítela."),
                409,
            )
        if isinstance(exc, DataError):
            return JSONResponse(
                error_body("VALIDATION_ERROR", "Datos no válidos: un valor no se puede guardar."),
                422,
            )
        if is_transient(exc):
            log.error("dependency_unavailable", path=request.url.path, error=repr(exc)[:200])
            return JSONResponse(
                error_body(
                    "SERVICE_UNAVAILABLE",
                    "El servicio no está disponible en este momento. Inténtalo en unos segundos.",
                ),
                503,
                headers={"Retry-After": "5"},
            )
        log.exception("unhandled_error", path=request.url.path)
        return JSONResponse(
            error_body(
                "INTERNAL_ERROR", "Error interno del servidor. Inténtalo de nuevo más tarde."
            ),
            500,
        )
