from .base import ObjectReader, ObjectWriter, Storage, StorageError, StoredObject
from .factory import build_storage
from .keys import ORIGINALS_PREFIX, original_key
from .local import LocalStorage
from .s3 import S3Storage

__all__ = [
    "ORIGINALS_PREFIX",
    "LocalStorage",
    "ObjectReader",
    "ObjectWriter",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredObject",
    "build_storage",
    "original_key",
]
