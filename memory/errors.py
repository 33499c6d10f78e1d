"""Errors raised by Colony.

Every error Colony raises derives from :class:`ColonyError`. The tree::

    ColonyError
    ├── InvalidInputError (ValueError)       a caller passed a bad value
    │   ├── InvalidNamespaceError            malformed namespace tuple
    │   └── InvalidRecordError               text, metadata, embedding or time not storable
    │       └── MemoryIdTakenError           a new memory's id is already used
    ├── MemoryNotFoundError (KeyError)       no memory with that id (at that time)
    ├── VersionConflictError                 compare-and-set on version failed: reread and retry
    ├── AccessDeniedError (PermissionError)  the principal may not do that in that namespace
    └── StoreError                           the backing store cannot be used
        ├── StoreLockedError                 another process holds the DuckDB file for writing
        └── StoreCorruptError                the file is not a Colony store, or it is damaged

Messages name what was wrong, the offending value, and what to do about it. An error never
leaves a store half-written: writes are transactional.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "ColonyError",
    "InvalidInputError",
    "InvalidNamespaceError",
    "InvalidRecordError",
    "MemoryIdTakenError",
    "MemoryNotFoundError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "VersionConflictError",
]


class ColonyError(Exception):
    """Root of every error Colony raises."""


class InvalidInputError(ColonyError, ValueError):
    """A value passed to Colony is malformed."""


class InvalidNamespaceError(InvalidInputError):
    """A namespace is not a non-empty tuple of valid labels."""


class InvalidRecordError(InvalidInputError):
    """A memory's text, metadata, embedding or times cannot be stored."""


class MemoryIdTakenError(InvalidRecordError):
    """A new memory was given an id another memory already has (a write that was retried,
    when the id was derived from the write: see ``AgentRequest.write_key``)."""


class MemoryNotFoundError(ColonyError, KeyError):
    """No memory with the given id exists (or none was visible at the given time)."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "memory not found"


class VersionConflictError(ColonyError):
    """A write expected one version of a memory and found another."""

    def __init__(self, memory_id: str, expected: int, actual: int | None) -> None:
        self.memory_id = memory_id
        self.expected = expected
        self.actual = actual
        found = "it is deleted" if actual is None else f"it is at version {actual}"
        super().__init__(
            f"memory {memory_id!r}: expected version {expected} but {found}; "
            "read it again and retry the write"
        )

    def __reduce__(self) -> tuple[type[VersionConflictError], tuple[str, int, int | None]]:
        # Crosses process boundaries (Ray) with its fields intact.
        return (type(self), (self.memory_id, self.expected, self.actual))


class AccessDeniedError(ColonyError, PermissionError):
    """A principal tried an operation its namespace rules do not allow."""


class StoreError(ColonyError):
    """The backing store cannot be used."""


class StoreLockedError(StoreError):
    """Another process holds the store file open for writing."""


class StoreCorruptError(StoreError):
    """The store file is not a Colony store, or it is damaged."""
