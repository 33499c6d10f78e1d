"""Input checks and normalisation shared by store backends.

Every check raises :class:`~memory.errors.InvalidRecordError` naming the field and the
offending value (truncated), so a bad write is refused before anything touches the store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from memory._types import Vector
from memory.errors import InvalidRecordError

MAX_TEXT_CHARS = 100_000
MAX_ID_CHARS = 256
_SHOW = 80  # characters of an offending value quoted in an error message


def short(value: object, limit: int = _SHOW) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_text(value: object, field: str = "text") -> str:
    """A non-empty string of at most :data:`MAX_TEXT_CHARS` characters without NUL."""
    if not isinstance(value, str):
        raise InvalidRecordError(
            f"{field} must be a str, got {type(value).__name__}: {short(value)}"
        )
    if not value.strip():
        raise InvalidRecordError(f"{field} must not be empty or blank, got {short(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidRecordError(
            f"{field} has {len(value)} characters, at most {MAX_TEXT_CHARS} are allowed: "
            f"{short(value)}; split it into several memories"
        )
    if "\x00" in value:
        raise InvalidRecordError(f"{field} contains a NUL character: {short(value)}")
    return value


def check_label(value: object, field: str) -> str:
    """A short non-empty identifier-like string (ids, authors, actors)."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise InvalidRecordError(f"{field} must be a non-empty str, got {short(value)}")
    if len(value) > MAX_ID_CHARS:
        raise InvalidRecordError(
            f"{field} has {len(value)} characters, at most {MAX_ID_CHARS}: {short(value)}"
        )
    return value


def check_optional_str(value: object, field: str) -> str | None:
    """``None`` or a string (free text such as a reason)."""
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidRecordError(f"{field} must be a str or None, got {short(value)}")
    return value


def check_strings(value: object, field: str) -> tuple[str, ...]:
    """A tuple of non-empty strings (entities, provenance)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidRecordError(
            f"{field} must be a tuple of strings, got {type(value).__name__}: {short(value)}"
        )
    for item in value:
        if not isinstance(item, str) or not item.strip() or "\x00" in item:
            raise InvalidRecordError(
                f"{field} must hold non-empty strings, got {short(item)} in {short(value)}"
            )
    return tuple(value)


def _check_keys(value: object, field: str) -> None:
    # json.dumps silently turns int keys into strings; refuse them so reads return what was written.
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRecordError(
                    f"{field} keys must be str, got {short(key)} in {short(value)}"
                )
            _check_keys(item, field)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item, field)


def check_metadata(value: object, field: str = "metadata") -> str:
    """A JSON-serialisable mapping with str keys; returns its JSON text."""
    if not isinstance(value, Mapping):
        raise InvalidRecordError(
            f"{field} must be a dict with str keys, got {type(value).__name__}: {short(value)}"
        )
    _check_keys(value, field)
    try:
        return json.dumps(dict(value), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRecordError(
            f"{field} must be JSON-serialisable ({exc}): {short(value)}"
        ) from None


def check_embedding(value: object, field: str = "embedding") -> Vector | None:
    """``None`` or a non-empty 1-D array of finite float32 values."""
    if value is None:
        return None
    try:
        with np.errstate(over="ignore"):  # float64 beyond float32 range becomes inf: caught below
            arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidRecordError(f"{field} must be a 1-D float array, got {short(value)}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidRecordError(
            f"{field} must be a non-empty 1-D float array, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise InvalidRecordError(f"{field} must be finite (no NaN or inf): {short(arr)}")
    return arr


def check_float(
    value: object, field: str, *, low: float | None = None, high: float | None = None
) -> float:
    """A finite real number, optionally within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InvalidRecordError(f"{field} must be a number, got {short(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidRecordError(f"{field} must be finite, got {short(value)}")
    if (low is not None and out < low) or (high is not None and out > high):
        raise InvalidRecordError(f"{field} must be in [{low}, {high}], got {short(value)}")
    return out


def to_utc(value: object, field: str) -> datetime | None:
    """``None`` or a datetime as naive UTC (naive input is taken to be UTC already)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidRecordError(f"{field} must be a datetime or None, got {short(value)}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def check_interval(start: datetime | None, end: datetime | None, what: str = "valid") -> None:
    """``start <= end`` when both are given (naive UTC datetimes)."""
    if start is not None and end is not None and start > end:
        raise InvalidRecordError(
            f"{what}_from ({start.isoformat()}) must not be after {what}_to ({end.isoformat()})"
        )


def aware(value: datetime | None) -> datetime | None:
    """A stored naive-UTC datetime as a tz-aware UTC datetime."""
    return None if value is None else value.replace(tzinfo=UTC)


def normalize_entity(name: str) -> str:
    """An entity's key: whitespace collapsed, lower-cased (``" Ana  Lopez"`` -> ``"ana lopez"``)."""
    return " ".join(name.split()).lower()


def entity_node_id(name: str) -> str:
    """Graph node id of an entity name."""
    return "entity:" + normalize_entity(name)


def metadata_from_json(text: str | None) -> dict[str, Any]:
    """Decode a stored metadata column."""
    return {} if text is None else dict(json.loads(text))
