from .base import Storage, StorageError
from .local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StorageError"]
