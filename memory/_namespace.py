"""Namespaces: tuples of labels, checked in one place."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory.errors import InvalidNamespaceError

Namespace = tuple[str, ...]

MAX_DEPTH = 16
MAX_LABEL_LEN = 128
_LABEL = re.compile(r"^[A-Za-z0-9_\-.:@]+$")
# Joined form used as a column value and an index key; "/" cannot occur inside a label.
SEPARATOR = "/"


def validate_namespace(namespace: object, *, allow_empty: bool = False) -> Namespace:
    """Return ``namespace`` as a tuple of labels or raise :class:`InvalidNamespaceError`.

    A label is 1-128 characters of letters, digits and ``_ - . : @``; a namespace has at
    most 16 labels. ``allow_empty`` admits ``()`` (used for "every namespace" prefixes).
    """
    if isinstance(namespace, str) or not isinstance(namespace, Sequence):
        raise InvalidNamespaceError(
            f"namespace must be a tuple of strings such as ('team', 'newsroom'), "
            f"got {namespace!r} of type {type(namespace).__name__}"
        )
    labels = tuple(namespace)
    if not labels and not allow_empty:
        raise InvalidNamespaceError("namespace must have at least one label, got ()")
    if len(labels) > MAX_DEPTH:
        raise InvalidNamespaceError(
            f"namespace has {len(labels)} labels, at most {MAX_DEPTH} are allowed: {labels!r}"
        )
    for label in labels:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"namespace labels must be strings, got {label!r} in {labels!r}"
            )
        if not label or len(label) > MAX_LABEL_LEN or not _LABEL.match(label):
            raise InvalidNamespaceError(
                f"invalid namespace label {label!r} in {labels!r}: use 1-{MAX_LABEL_LEN} "
                "letters, digits or _ - . : @"
            )
    return labels


def join_namespace(namespace: Namespace) -> str:
    """Encode a validated namespace as one string (the stored column value)."""
    return SEPARATOR.join(namespace)


def split_namespace(joined: str) -> Namespace:
    """Decode a stored namespace string."""
    return tuple(joined.split(SEPARATOR)) if joined else ()


def has_prefix(namespace: Namespace, prefix: Namespace) -> bool:
    """True when ``namespace`` starts with ``prefix``."""
    return namespace[: len(prefix)] == prefix
