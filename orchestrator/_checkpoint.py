"""Where LangGraph checkpoints go: an embedded SQLite file by default, PostgreSQL on request."""

from __future__ import annotations

import os
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from orchestrator.errors import TeamDefinitionError

__all__ = ["DEFAULT_CHECKPOINTS", "Checkpoints", "open_checkpointer"]

DEFAULT_CHECKPOINTS = ".colony/checkpoints.sqlite"

Checkpoints = str | os.PathLike[str] | BaseCheckpointSaver[Any] | None


class _Opened:
    """A checkpointer and how to release what was opened for it."""

    def __init__(self, saver: BaseCheckpointSaver[Any], closer: Any = None) -> None:
        self.saver = saver
        self._closer = closer

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None


def open_checkpointer(where: Checkpoints) -> _Opened:
    """Open the checkpoint store ``where`` names.

    Args:
        where: A file path (SQLite, created with its directory), a ``postgresql://`` DSN
            (needs ``pip install 'colony[postgres]'``), ``":memory:"`` (not durable), an
            already built LangGraph checkpointer (used as is), or None for
            ``COLONY_CHECKPOINTS`` or else :data:`DEFAULT_CHECKPOINTS`.

    Raises:
        TeamDefinitionError: ``where`` is none of those, or PostgreSQL support is not installed.
    """
    if isinstance(where, BaseCheckpointSaver):
        return _Opened(where)
    if where is None:
        where = os.environ.get("COLONY_CHECKPOINTS") or DEFAULT_CHECKPOINTS
    if not isinstance(where, str | os.PathLike):
        raise TeamDefinitionError(
            f"checkpoints must be a path, a postgresql:// DSN, ':memory:' or a LangGraph "
            f"checkpointer, got {where!r}"
        )
    text = os.fspath(where)
    if text == ":memory:":
        return _Opened(InMemorySaver())
    if text.startswith(("postgres://", "postgresql://")):
        return _open_postgres(text)
    path = Path(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    from langgraph.checkpoint.sqlite import SqliteSaver

    # LangGraph runs parallel branches on threads; SqliteSaver serialises access with a lock.
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise TeamDefinitionError(
            f"checkpoint file {text!r} is not a usable SQLite file: {exc}"
        ) from exc
    return _Opened(saver, conn.close)


def _open_postgres(dsn: str) -> _Opened:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError as exc:
        raise TeamDefinitionError(
            "checkpoints point at PostgreSQL but langgraph-checkpoint-postgres is not installed; "
            "run pip install 'colony[postgres]'"
        ) from exc
    manager: AbstractContextManager[Any] = PostgresSaver.from_conn_string(dsn)
    saver = manager.__enter__()
    saver.setup()
    return _Opened(saver, lambda: manager.__exit__(None, None, None))
