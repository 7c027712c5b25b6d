"""The station's SQLite record: verdicts with revisions, frames, audit, catalog and manifest.

See `station.store.store` for the threading rules (one writer `Store`, readers on their
own connections).
"""

from station.store.images import FrameImage, ImageWriteError
from station.store.retention import RetentionResult
from station.store.schema import LATEST_VERSION, SchemaError
from station.store.store import (
    AuditEntry,
    PurgeResult,
    Store,
    StoreError,
    StoreReader,
    UnusableDatabaseError,
    database_problem,
    open_database,
)

__all__ = [
    "LATEST_VERSION",
    "AuditEntry",
    "FrameImage",
    "ImageWriteError",
    "PurgeResult",
    "RetentionResult",
    "SchemaError",
    "Store",
    "StoreError",
    "StoreReader",
    "UnusableDatabaseError",
    "database_problem",
    "open_database",
]
