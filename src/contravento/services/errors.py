"""Service-level errors with a stable code and a Spanish message; api/ maps them to HTTP."""

from __future__ import annotations


class ServiceError(Exception):
    code = "ERROR"
    message = "Se ha producido un error."
    status_code = 400

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        super().__init__(self.code)


class NotFoundError(ServiceError):
    code = "NOT_FOUND"
    message = "No se ha encontrado el recurso."
    status_code = 404


class TripNotFoundError(NotFoundError):
    code = "TRIP_NOT_FOUND"
    message = "No se ha encontrado el viaje."


class GPXFileNotFoundError(NotFoundError):
    code = "GPX_FILE_NOT_FOUND"
    message = "No se ha encontrado el archivo GPX."


class TrackNotReadyError(ServiceError):
    code = "GPX_NOT_PROCESSED"
    message = "El archivo GPX todavía no se ha procesado (o falló): consulta su estado."
    status_code = 409


class EmailTakenError(ServiceError):
    code = "EMAIL_TAKEN"
    message = "Ya existe una cuenta con ese correo electrónico."
    status_code = 409


class InvalidCredentialsError(ServiceError):
    code = "INVALID_CREDENTIALS"
    message = "Correo electrónico o contraseña incorrectos."
    status_code = 401


class TooManyAttemptsError(ServiceError):
    """Sign-in or sign-up refused by a rate limit (services/auth_limits.py) for a while."""

    code = "TOO_MANY_ATTEMPTS"
    status_code = 429

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = max(1, retry_after_s)
        super().__init__(
            "Demasiados intentos. Espera "
            + ("1 segundo" if self.retry_after_s == 1 else f"{self.retry_after_s} segundos")
            + " antes de volver a intentarlo."
        )


class NotAuthenticatedError(ServiceError):
    code = "NOT_AUTHENTICATED"
    message = "Necesitas iniciar sesión (token ausente, inválido o caducado)."
    status_code = 401


class UploadTooLargeError(ServiceError):
    code = "GPX_TOO_LARGE"
    status_code = 413

    def __init__(self, limit_mb: float) -> None:
        super().__init__(f"El archivo supera el tamaño máximo permitido de {limit_mb:g} MB.")


class InvalidUploadError(ServiceError):
    code = "GPX_INVALID_FILE"
    message = "Sube un archivo GPX (.gpx) en el campo «file» de un formulario multipart."
    status_code = 422


class UnsupportedFileTypeError(ServiceError):
    code = "GPX_INVALID_FILE_TYPE"
    message = (
        "El archivo no es una actividad que sepamos leer: sube un GPX, FIT o TCX "
        "(también comprimidos con gzip) o un .zip con varias actividades."
    )
    status_code = 415


class GzipUploadTooLargeError(ServiceError):
    """A gzip upload that inflates past GPX_MAX_INFLATED_MB (a gzip bomb), refused as it
    streams in."""

    code = "GZIP_TOO_LARGE"
    status_code = 413

    def __init__(self, limit_mb: float) -> None:
        super().__init__(
            "El archivo comprimido ocupa demasiado al descomprimirlo (más de "
            f"{limit_mb:g} MB) y se ha rechazado por seguridad."
        )


class GzipUploadCorruptError(ServiceError):
    code = "GZIP_CORRUPT"
    message = "El archivo comprimido (gzip) está dañado o incompleto. Vuelve a exportarlo."
    status_code = 422


class TooManyPendingError(ServiceError):
    code = "TOO_MANY_PENDING_UPLOADS"
    status_code = 429

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Tienes {limit} archivos o más pendientes de procesar. "
            "Espera a que terminen antes de subir más."
        )


class UploadIncompleteError(ServiceError):
    code = "UPLOAD_INCOMPLETE"
    message = "La subida se interrumpió antes de terminar. Vuelve a intentarlo."
    status_code = 400


class UploadStalledError(ServiceError):
    code = "UPLOAD_TIMEOUT"
    message = (
        "La subida se detuvo: no llegaron datos durante demasiado tiempo. "
        "Comprueba tu conexión y vuelve a intentarlo."
    )
    status_code = 408


class StorageMissingError(Exception):
    """The original of a job is not in storage: permanent, the job fails."""

    code = "GPX_FILE_MISSING"
    message = "No se encuentra el archivo original en el almacenamiento. Vuelve a subirlo."


class TransientProcessingError(Exception):
    """Database or storage trouble that a later attempt may not meet."""


class ArchiveHasNoTrackError(ServiceError):
    code = "GPX_IS_ARCHIVE"
    message = (
        "Es un zip de importación: no tiene ruta propia; cada actividad que contenía es un "
        "archivo aparte del viaje (consulta GET /imports/{id})."
    )
    status_code = 409


class ImportNotFoundError(NotFoundError):
    code = "IMPORT_NOT_FOUND"
    message = "No se ha encontrado la importación."
