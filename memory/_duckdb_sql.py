"""SQL fragments for reading the ``memories`` table: every user value is a ``?`` parameter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from memory._checks import short, to_utc
from memory._namespace import Namespace, join_namespace, validate_namespace
from memory._types import Filter, Tier
from memory.errors import InvalidInputError


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal, for the statements that take no parameter
    (``LOAD``, ``ATTACH``): quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def prefix_sql(prefix: Namespace, column: str = "namespace") -> tuple[str, list[object]]:
    """Rows whose namespace is ``prefix`` or below it.

    ``starts_with`` on the prefix plus ``/`` (never ``LIKE``, where ``_`` and ``%`` in a label
    would be wildcards) keeps ``('team', 'a')`` from matching ``('team', 'ab')``.
    """
    if not prefix:
        return "TRUE", []
    joined = join_namespace(prefix)
    return f"({column} = ? OR starts_with({column}, ?))", [joined, joined + "/"]


def visible_sql(as_of: object, *, include_superseded: bool = False) -> tuple[str, list[object]]:
    """Rows that are live now, or were live at system time ``as_of`` (tombstones excluded)."""
    at = to_utc(as_of, "as_of")
    if at is None:
        cond = "TRUE" if include_superseded else "superseded_at IS NULL"
        return f"{cond} AND NOT deleted", []
    if include_superseded:
        return "recorded_at <= ? AND NOT deleted", [at]
    return (
        "recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?) AND NOT deleted",
        [at, at],
    )


def _json_pointer(key: str) -> str:
    # RFC 6901: "~" and "/" are escaped, so any key is addressed literally.
    return "/" + key.replace("~", "~0").replace("/", "~1")


def metadata_sql(metadata: Mapping[str, Any]) -> tuple[str, list[object]]:
    """Exact matches on top-level metadata values (strings, numbers, booleans, null, JSON)."""
    clauses: list[str] = []
    params: list[object] = []
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"metadata filter keys must be str, got {short(key)}")
        path = _json_pointer(key)
        if value is None:
            clauses.append("json_type(metadata, ?) = 'NULL'")
            params.append(path)
        elif isinstance(value, bool):
            clauses.append(
                "json_type(metadata, ?) = 'BOOLEAN' AND json_extract_string(metadata, ?) = ?"
            )
            params += [path, path, "true" if value else "false"]
        elif isinstance(value, str):
            clauses.append(
                "json_type(metadata, ?) = 'VARCHAR' AND json_extract_string(metadata, ?) = ?"
            )
            params += [path, path, value]
        elif isinstance(value, int | float):
            clauses.append(
                "json_type(metadata, ?) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT') "
                "AND TRY_CAST(json_extract_string(metadata, ?) AS DOUBLE) = ?"
            )
            params += [path, path, float(value)]
        else:
            try:
                encoded = json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"metadata filter value for {key!r} is not JSON: {short(value)}"
                ) from None
            clauses.append("json_extract(metadata, ?) = json(?)")
            params += [path, encoded]
    return " AND ".join(clauses) or "TRUE", params


def _tiers(tiers: object) -> list[str]:
    if isinstance(tiers, str) or not isinstance(tiers, tuple | list | set | frozenset):
        raise InvalidInputError(f"tiers must be a tuple of Tier or None, got {short(tiers)}")
    try:
        return [Tier(t).value for t in tiers]
    except ValueError:
        raise InvalidInputError(
            f"tiers must hold {[t.value for t in Tier]}, got {short(tiers)}"
        ) from None


def _authors(authors: object) -> list[str]:
    if isinstance(authors, str) or not isinstance(authors, tuple | list | set | frozenset):
        raise InvalidInputError(f"authors must be a tuple of str or None, got {short(authors)}")
    if not all(isinstance(a, str) for a in authors):
        raise InvalidInputError(f"authors must hold str, got {short(authors)}")
    return list(authors)


def filter_sql(flt: Filter, *, all_versions: bool = False) -> tuple[str, list[object]]:
    """A ``WHERE`` condition and its parameters for ``flt`` on ``memories``.

    ``all_versions`` ignores ``as_of`` / ``include_superseded`` and keeps tombstones.
    """
    if not isinstance(flt, Filter):
        raise InvalidInputError(f"expected a Filter, got {short(flt)}")
    clauses: list[str] = []
    params: list[object] = []

    def add(sql: str, values: list[object]) -> None:
        clauses.append(sql)
        params.extend(values)

    add(*prefix_sql(validate_namespace(flt.namespace_prefix, allow_empty=True)))
    if not all_versions:
        add(*visible_sql(flt.as_of, include_superseded=flt.include_superseded))
    if flt.tiers is not None:
        add("list_contains(?::VARCHAR[], tier)", [_tiers(flt.tiers)])
    since, until = to_utc(flt.since, "since"), to_utc(flt.until, "until")
    if since is not None:
        add("coalesce(valid_from, recorded_at) >= ?", [since])
    if until is not None:
        add("coalesce(valid_from, recorded_at) <= ?", [until])
    if not isinstance(flt.metadata, Mapping):
        raise InvalidInputError(f"metadata filter must be a dict, got {short(flt.metadata)}")
    if flt.metadata:
        add(*metadata_sql(flt.metadata))
    if flt.authors is not None:
        add("list_contains(?::VARCHAR[], author)", [_authors(flt.authors)])
    return " AND ".join(f"({c})" for c in clauses), params
