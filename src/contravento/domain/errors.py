"""Typed domain errors: a stable code for machines, a Spanish message for cyclists."""

from __future__ import annotations


class GPXError(Exception):
    """A GPX file that cannot become a track. Permanent: retrying never helps."""

    code: str = "GPX_INVALID"
    message: str = "El archivo GPX no es válido."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class GPXMalformedError(GPXError):
    code = "GPX_MALFORMED"
    message = (
        "El archivo no es un XML bien formado (puede estar truncado o dañado). "
        "Vuelve a exportarlo desde tu dispositivo o aplicación."
    )


class GPXNotGPXError(GPXError):
    code = "GPX_NOT_GPX"
    message = "El archivo es XML pero no es un GPX. Exporta la actividad en formato GPX."


class GPXNoTrackpointsError(GPXError):
    code = "GPX_NO_TRACKPOINTS"
    message = "El archivo GPX no contiene puntos de track ni de ruta."


class GPXInvalidCoordinatesError(GPXError):
    code = "GPX_INVALID_COORDINATES"
    message = (
        "Ningún punto del archivo GPX tiene coordenadas válidas "
        "(latitud entre -90 y 90, longitud entre -180 y 180)."
    )


class GPXUnsafeXMLError(GPXError):
    code = "GPX_UNSAFE_XML"
    message = (
        "El archivo contiene construcciones XML no permitidas (DTD, entidades, anidamiento "
        "excesivo o miles de elementos ajenos a GPX) y se ha rechazado por seguridad."
    )


class ProcessingCancelled(Exception):
    """The caller asked to stop (a time limit): not a property of the file."""


class GPXTooManyPointsError(GPXError):
    code = "GPX_TOO_MANY_POINTS"
    message = (
        "El archivo tiene demasiados puntos para una actividad (más de un millón). "
        "Divide la grabación o exporta con un intervalo de registro mayor."
    )


class UnsupportedFormatError(GPXError):
    """Bytes that are no recording we read (decided by content; the upload refuses most
    of them with 415 before a job exists)."""

    code = "FILE_UNSUPPORTED_FORMAT"
    message = (
        "El archivo no es una actividad en un formato admitido (GPX, FIT o TCX, también "
        "comprimidos con gzip)."
    )


class GzipCorruptError(GPXError):
    code = "GZIP_CORRUPT"
    message = "El archivo comprimido (gzip) está dañado o incompleto. Vuelve a exportarlo."


class GzipTooLargeError(GPXError):
    code = "GZIP_TOO_LARGE"
    message = (
        "El archivo comprimido ocupa demasiado al descomprimirlo y se ha rechazado por seguridad."
    )


class TCXNotAnActivityError(GPXError):
    """A TCX that holds only planned courses or workouts: nothing was recorded."""

    code = "TCX_NOT_AN_ACTIVITY"
    message = (
        "El archivo TCX no es una actividad: contiene solo recorridos planificados (Courses) "
        "o entrenamientos (Workouts). Sube la actividad grabada."
    )


class TCXNoTrackpointsError(GPXError):
    code = "TCX_NO_TRACKPOINTS"
    message = "La actividad del archivo TCX no contiene ningún punto registrado (Trackpoint)."


class FITNotAnActivityError(GPXError):
    """A FIT file that is not a recorded activity: settings, a workout, a weight scale's or
    a monitoring file (its file_id says so), or an activity file with nothing recorded."""

    code = "FIT_NOT_AN_ACTIVITY"
    message = (
        "El archivo FIT no es una actividad (es de ajustes, un entrenamiento, una báscula o "
        "datos de monitorización, o no tiene nada grabado). Sube el archivo de la actividad."
    )


class FITCorruptError(GPXError):
    """A FIT file of which nothing usable can be read (a damaged header, no messages)."""

    code = "FIT_CORRUPT"
    message = (
        "El archivo FIT está dañado y no se puede leer. Vuelve a copiarlo desde tu "
        "dispositivo o a exportarlo desde tu aplicación."
    )


ALL_GPX_ERRORS: tuple[type[GPXError], ...] = (
    GPXMalformedError,
    GPXNotGPXError,
    GPXNoTrackpointsError,
    GPXInvalidCoordinatesError,
    GPXUnsafeXMLError,
    GPXTooManyPointsError,
    UnsupportedFormatError,
    GzipCorruptError,
    GzipTooLargeError,
    TCXNotAnActivityError,
    TCXNoTrackpointsError,
    FITNotAnActivityError,
    FITCorruptError,
)
