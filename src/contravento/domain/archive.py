"""Bulk imports: the rules for reading a zip archive of activities (a Strava or Garmin export).

Pure: it reads a seekable binary stream the caller opened (no paths, no storage, no DB).

- A member's name is only ever shown (`display_name`), never used as a path: `../../etc/x`,
  `/abs/x` or `C:\\x` are just text (zip-slip has nothing to write to).
- Archive-level limits (too many members, overlapping members, more inflated bytes in all
  than allowed, an unreadable archive) raise an ArchiveError: the import fails with its code.
- Member-level limits (encrypted, too large inflated, a suspicious compression ratio, a
  nested archive, an unknown compression method, damaged data, no activity) skip the member
  with a `Skip` (code and Spanish reason); the other members go on.
- Inflated bytes are counted as they come, in bounded chunks (zipfile inflates with a
  `max_length`), so the header's sizes are never trusted: a bomb stops at the cap.
"""

from __future__ import annotations

import itertools
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from .compression import gunzip_head
from .errors import GPXError
from .fit import head_kinds
from .formats import SNIFF_BYTES, Archive, Compression, Sniffed, TrackFormat, sniff, xml_root

ARCHIVE_FORMAT = str(Archive.ZIP)  # gpx_files.format of an archive (an import, not a stage)
CHUNK_BYTES = 1024 * 1024
_MIB = 1024 * 1024
_NAME_MAX = 255

# first bytes of archives and compressed containers that may hold more files (nested archives)
_ARCHIVE_MAGICS = (
    b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08",  # zip (also .jar, .docx, .kmz...)
    b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\xfd7zXZ\x00", b"BZh", b"\x28\xb5\x2f\xfd",
)  # fmt: skip
_TAR_MAGIC_AT = 257  # "ustar" in a tar header
_SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_ACTIVITY_ROOTS = {TrackFormat.GPX: b"gpx", TrackFormat.TCX: b"TrainingCenterDatabase"}


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 2000
    max_total_bytes: int = 2048 * _MIB
    max_member_bytes: int = 50 * _MIB
    max_ratio: float = 100.0
    # the ratio is judged once a member has inflated this much (tiny files compress anyhow)
    ratio_floor_bytes: int = _MIB


# ---------------------------------------------------------------- archive-level errors


class ArchiveError(GPXError):
    """The archive as a whole cannot be imported: the import job fails with this code."""

    code = "ARCHIVE_INVALID"
    message = "El archivo zip no es válido."

    def __init__(self, detail: str | None = None, message: str | None = None) -> None:
        super().__init__(detail)
        if message is not None:
            self.message = message


class ArchiveCorruptError(ArchiveError):
    code = "ARCHIVE_CORRUPT"
    message = (
        "El archivo zip está dañado o incompleto y no se puede abrir. Vuelve a descargar la "
        "exportación."
    )


class ArchiveTooManyMembersError(ArchiveError):
    code = "ARCHIVE_TOO_MANY_MEMBERS"

    def __init__(self, found: int, limit: int) -> None:
        super().__init__(
            f"{found} members > {limit}",
            f"El zip contiene {found} archivos y el máximo es {limit}. Divídelo en varios zip.",
        )


class ArchiveTooLargeError(ArchiveError):
    code = "ARCHIVE_TOO_LARGE"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"inflates past {limit} bytes",
            f"El contenido del zip ocupa más de {_mb(limit)} MB al descomprimirlo y se ha "
            "detenido por seguridad. Divídelo en varios zip.",
        )


class ArchiveOverlapError(ArchiveError):
    code = "ARCHIVE_OVERLAPPING_MEMBERS"
    message = (
        "El zip tiene archivos que comparten los mismos datos (una técnica de «bomba zip») y "
        "se ha rechazado por seguridad."
    )


# ---------------------------------------------------------------- member-level skips


@dataclass(frozen=True)
class Skip:
    """Why a member was not imported: a stable code and the Spanish reason shown."""

    code: str
    reason: str


NOT_ACTIVITY = Skip(
    "MEMBER_NOT_ACTIVITY",
    "No es una actividad (se importan GPX, FIT y TCX, también comprimidos con gzip).",
)
NESTED_ARCHIVE = Skip(
    "MEMBER_NESTED_ARCHIVE",
    "Es un archivo comprimido dentro del zip; los archivos anidados no se abren. "
    "Descomprímelo y súbelo aparte.",
)
ENCRYPTED = Skip("MEMBER_ENCRYPTED", "Está protegido con contraseña y no se puede leer.")
UNSUPPORTED_METHOD = Skip(
    "MEMBER_UNSUPPORTED_COMPRESSION", "Usa un método de compresión que no se admite."
)
CORRUPT = Skip("MEMBER_CORRUPT", "Está dañado dentro del zip (sus datos o su CRC no cuadran).")
EMPTY = Skip("MEMBER_EMPTY", "Está vacío.")
DUPLICATE = Skip("MEMBER_DUPLICATE", "Ya está en este viaje (el mismo contenido exacto).")


_FIT_KINDS = {
    "settings": "ajustes del dispositivo", "device": "ajustes del dispositivo",
    "workout": "entrenamiento planificado", "course": "recorrido", "weight": "peso",
    "totals": "totales", "goals": "objetivos", "blood_pressure": "tensión arterial",
    "monitoring_a": "monitorización diaria", "monitoring_b": "monitorización diaria",
    "monitoring_daily": "monitorización diaria", "activity_summary": "resumen de actividad",
    "schedules": "calendario", "segment": "segmento", "segment_list": "segmentos",
}  # fmt: skip


def fit_not_activity(kind: str) -> Skip:
    """A FIT whose file_id declares no activity (a Garmin export keeps many beside them)."""
    what = _FIT_KINDS.get(kind, f"tipo «{kind}»")
    return Skip("MEMBER_NOT_ACTIVITY", f"Es un archivo FIT de {what}, no una actividad.")


def too_large(limit: int) -> Skip:
    return Skip("MEMBER_TOO_LARGE", f"Ocupa más de {_mb(limit)} MB al descomprimirlo (el máximo).")


def suspicious_ratio(limit: float) -> Skip:
    return Skip(
        "MEMBER_SUSPICIOUS_RATIO",
        f"Se descomprime más de {limit:g} veces su tamaño (posible bomba zip) y se ha "
        "descartado por seguridad.",
    )


class MemberSkipped(Exception):
    """Raised while reading a member: skip it with `skip`."""

    def __init__(self, skip: Skip) -> None:
        super().__init__(skip.code)
        self.skip = skip


def _mb(n: int) -> str:
    return f"{n / _MIB:g}"


# ---------------------------------------------------------------- names and entries


def display_name(raw: str) -> str:
    """A member's name as shown: printable characters, `/` separators, bounded. Only text:
    nothing is ever opened or written under it."""
    text = "".join(ch if ch.isprintable() else "?" for ch in raw.replace("\\", "/")).strip()
    if len(text) > _NAME_MAX:
        text = "…" + text[-(_NAME_MAX - 1) :]
    return text or "(sin nombre)"


def base_name(raw: str) -> str:
    """The last component of a member's name (its file name for the stage it becomes)."""
    return raw.replace("\\", "/").rstrip("/").split("/")[-1]


@dataclass(frozen=True)
class Entry:
    """What the central directory says of one member (sizes are claims, never trusted)."""

    info: zipfile.ZipInfo
    name: str  # display_name

    @property
    def encrypted(self) -> bool:
        return bool(self.info.flag_bits & 0x1)

    @property
    def is_dir(self) -> bool:
        return self.info.is_dir()

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.info.external_attr >> 16)


def open_archive(stream: IO[bytes]) -> zipfile.ZipFile:
    """The archive's directory, read; ArchiveCorruptError if it is not a readable zip."""
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveCorruptError(repr(exc)) from exc


def list_members(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[Entry]:
    """The members that are files (directories are not members), after the archive-level
    checks: their count, and no two sharing compressed bytes (overlap bombs)."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > limits.max_members:
        raise ArchiveTooManyMembersError(len(infos), limits.max_members)
    check_no_overlap([(i.header_offset, i.compress_size) for i in infos])
    return [Entry(info, display_name(info.filename)) for info in infos]


def check_no_overlap(spans: list[tuple[int, int]]) -> None:
    """(offset of the local header, compressed size) of each member: refuse an archive whose
    members' data overlap (one compressed blob referenced by many entries)."""
    ordered = sorted(spans)
    for (offset, size), (next_offset, _next_size) in itertools.pairwise(ordered):
        if next_offset == offset or offset + size > next_offset:
            raise ArchiveOverlapError(f"member at {offset} (+{size}) overlaps {next_offset}")


def entry_skip(entry: Entry, limits: ArchiveLimits) -> Skip | None:
    """What the directory alone tells: a member to skip before reading it, or None."""
    if entry.encrypted:
        return ENCRYPTED
    if entry.info.compress_type not in _SUPPORTED_METHODS:
        return UNSUPPORTED_METHOD
    if entry.is_symlink:
        return NOT_ACTIVITY
    if entry.info.file_size > limits.max_member_bytes:  # a claim, but enough to refuse
        return too_large(limits.max_member_bytes)
    return None


# ---------------------------------------------------------------- content


def _is_archive(head: bytes) -> bool:
    tar = head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar"
    return head.startswith(_ARCHIVE_MAGICS) or tar


def classify(head: bytes) -> Sniffed | Skip:
    """A member's first bytes (SNIFF_BYTES, or all of a shorter member): the activity it is
    (format, maybe gzip-wrapped), or why it is skipped. By content, never by name."""
    if not head:
        return EMPTY
    found = sniff(head[:SNIFF_BYTES])
    inner = head
    if found.archive is not None:
        return NESTED_ARCHIVE
    if found.compression is Compression.GZIP:
        inner = gunzip_head(head, SNIFF_BYTES + _TAR_MAGIC_AT)
        if _is_archive(inner):  # .tar.gz, .zip.gz
            return NESTED_ARCHIVE
    elif _is_archive(head):
        return NESTED_ARCHIVE
    if found.format is None:
        return NOT_ACTIVITY
    if found.format is TrackFormat.FIT:
        kinds = head_kinds(inner)  # [] when the first bytes do not tell: its job judges
        if kinds and "activity" not in kinds:
            return fit_not_activity(kinds[0])
    wanted = _ACTIVITY_ROOTS.get(found.format)
    if wanted is not None:
        root = xml_root(inner)
        # an XML of another kind (KML, SVG, HTML) is no activity; a root beyond the first
        # bytes (a long comment first) is left to the parser to judge
        if root is not None and root != wanted:
            return NOT_ACTIVITY
    return found


class Meter:
    """Counts a member's inflated bytes and the archive's, against the limits."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.total = 0

    def member(self, compressed_size: int) -> MemberMeter:
        return MemberMeter(self, compressed_size)


class MemberMeter:
    def __init__(self, meter: Meter, compressed_size: int) -> None:
        self.meter = meter
        self.compressed = max(compressed_size, 1)
        self.size = 0

    def add(self, n: int) -> None:
        """Count `n` more inflated bytes: MemberSkipped past the member's limits,
        ArchiveTooLargeError past the archive's."""
        limits = self.meter.limits
        self.size += n
        self.meter.total += n
        if self.meter.total > limits.max_total_bytes:
            raise ArchiveTooLargeError(limits.max_total_bytes)
        if self.size > limits.max_member_bytes:
            raise MemberSkipped(too_large(limits.max_member_bytes))
        if self.size > limits.ratio_floor_bytes and self.size > limits.max_ratio * self.compressed:
            raise MemberSkipped(suspicious_ratio(limits.max_ratio))


def read_member(
    archive: zipfile.ZipFile, entry: Entry, meter: Meter, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """The member's inflated bytes in chunks of at most `chunk_bytes`, counted by `meter`.
    MemberSkipped (damaged, too large, suspicious ratio) or ArchiveTooLargeError on the way;
    the CRC is checked by zipfile at the end."""
    counted = meter.member(entry.info.compress_size)
    try:
        with archive.open(entry.info) as member:
            while True:
                chunk = member.read(chunk_bytes)
                if not chunk:
                    return
                counted.add(len(chunk))
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise MemberSkipped(CORRUPT) from exc
    except NotImplementedError as exc:  # a method zipfile cannot inflate
        raise MemberSkipped(UNSUPPORTED_METHOD) from exc
    except RuntimeError as exc:  # encrypted without the flag zipfile looked at
        raise MemberSkipped(ENCRYPTED) from exc
