"""Record and request types shared by the store, the service and the policies."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memory._namespace import Namespace

WINDOW_KEY = "window"
"""Metadata key of the conversation around a memory: the text of the turns before and after
the one it comes from (:attr:`memory.RuleExtractor.window`), which keyword search reads with
the memory's text (:attr:`memory.RetrievalWeights.window`) and never shows as the memory."""

Vector = npt.NDArray[np.float32]


class Tier(enum.StrEnum):
    """Memory tiers, coarse to fine: insight > semantic > interaction > working."""

    WORKING = "working"
    INTERACTION = "interaction"
    SEMANTIC = "semantic"
    INSIGHT = "insight"


class Operation(enum.StrEnum):
    """What a memory policy decides for one candidate."""

    ADD = "ADD"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    NOOP = "NOOP"


class EdgeType(enum.StrEnum):
    """Typed edges of the memory graph."""

    MENTIONS = "mentions"  # memory -> entity
    SUPERSEDES = "supersedes"  # new memory -> memory it replaced
    DERIVED_FROM = "derived_from"  # fact / insight -> source event
    RELATES_TO = "relates_to"  # anything -> anything


class NodeKind(enum.StrEnum):
    """Kinds of graph nodes. Memories are nodes whose tier says event / fact / insight."""

    MEMORY = "memory"
    ENTITY = "entity"
    TASK = "task"


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One version of one memory.

    ``valid_from``/``valid_to`` are world time (when the fact held); ``recorded_at``/
    ``superseded_at`` are system time (when this version was written / replaced or deleted).
    """

    id: str
    namespace: Namespace
    tier: Tier
    text: str
    version: int
    author: str
    recorded_at: datetime
    superseded_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    entities: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    trust: float = 1.0
    utility: float = 0.0
    deleted: bool = False
    embedding: Vector | None = field(default=None, compare=False, repr=False)

    @property
    def is_current(self) -> bool:
        """True for the live version of a memory that is not deleted."""
        return self.superseded_at is None and not self.deleted


@dataclass(frozen=True, slots=True)
class NewMemory:
    """A memory to add. The store assigns id (unless given), version and system times."""

    namespace: Namespace
    text: str
    tier: Tier = Tier.SEMANTIC
    author: str = "system"
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    entities: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    trust: float = 1.0
    utility: float = 0.0
    embedding: Vector | None = field(default=None, compare=False, repr=False)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeInfo:
    """Who made a change and why; written to the history table."""

    actor: str = "system"
    policy: str | None = None
    confidence: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AddOp:
    """Add a new memory (version 1)."""

    memory: NewMemory
    info: ChangeInfo = ChangeInfo()


@dataclass(frozen=True, slots=True)
class UpdateOp:
    """Write a new version of ``memory_id``; fails unless it is at ``expected_version``.

    Fields left as ``None`` keep their current value. ``close_validity`` sets the old
    version's ``valid_to`` (world time) to the new version's ``valid_from``.
    """

    memory_id: str
    expected_version: int
    text: str | None = None
    embedding: Vector | None = field(default=None, compare=False, repr=False)
    entities: tuple[str, ...] | None = None
    provenance: tuple[str, ...] | None = None
    metadata: Mapping[str, Any] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    trust: float | None = None
    utility: float | None = None
    close_validity: bool = True
    info: ChangeInfo = ChangeInfo()


@dataclass(frozen=True, slots=True)
class DeleteOp:
    """Soft-delete ``memory_id``: its versions stay readable "as of" earlier times."""

    memory_id: str
    expected_version: int | None = None
    info: ChangeInfo = ChangeInfo()


@dataclass(frozen=True, slots=True)
class CreditOp:
    """Add ``delta`` to a memory's utility: a new version, whatever the current one is.

    Credits commute, so unlike an UpdateOp this one needs no expected version: runs that
    credit the same memory at once all count (MemRL-style utility). Crediting a memory that
    was deleted writes nothing and returns its deleted version.
    """

    memory_id: str
    delta: float
    info: ChangeInfo = ChangeInfo()


WriteOp = AddOp | UpdateOp | DeleteOp | CreditOp


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of a memory's change log."""

    event_id: str
    memory_id: str
    operation: Operation
    old_text: str | None
    new_text: str | None
    old_version: int | None
    new_version: int | None
    actor: str
    at: datetime
    policy: str | None = None
    confidence: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A typed, weighted, time-bounded edge between two graph nodes."""

    src: str
    dst: str
    type: EdgeType
    src_kind: NodeKind = NodeKind.MEMORY
    dst_kind: NodeKind = NodeKind.MEMORY
    weight: float = 1.0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    namespace: Namespace = ()


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task (query) node of the memory graph; the store assigns ``task:<hex>`` unless
    ``id`` is given."""

    text: str
    namespace: Namespace
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Erasure:
    """What :meth:`MemoryStore.erase` removed for good: counts of rows, by table.

    ``memories`` counts distinct memory ids, ``versions`` their stored rows (tombstones
    included). ``rewritten`` is True when the store's file was written anew without them,
    so no byte of what was erased is left in it (an in-memory store has no file).
    """

    namespace: Namespace
    memories: int
    versions: int
    history: int
    edges: int
    tasks: int
    entities: int
    rewritten: bool
    seconds: float


@dataclass(frozen=True, slots=True)
class Filter:
    """Which memories a read may return.

    ``namespace_prefix`` selects a subtree (``()`` = all); ``as_of`` reads the store as it
    was at that system time; ``include_superseded`` also returns replaced versions (for
    questions about the past); ``metadata`` matches exact top-level values; ``quarantine``
    leaves out memories in quarantine (``"exclude"``), takes only them (``"only"``), or
    both (``"include"``). Only searches apply it: the store's own reads show every memory.
    """

    namespace_prefix: Namespace = ()
    tiers: tuple[Tier, ...] | None = None
    since: datetime | None = None  # valid_from / recorded_at >= since
    until: datetime | None = None  # valid_from / recorded_at <= until
    as_of: datetime | None = None
    include_superseded: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    authors: tuple[str, ...] | None = None
    quarantine: Literal["exclude", "include", "only"] = "exclude"


@dataclass(frozen=True, slots=True)
class ScoredMemory:
    """A search hit: the record, its fused score and each retriever's contribution."""

    record: MemoryRecord
    score: float
    components: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate memory handed to a :class:`MemoryPolicy`."""

    text: str
    namespace: Namespace
    tier: Tier = Tier.SEMANTIC
    speaker: str | None = None
    time: datetime | None = None
    entities: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    embedding: Vector | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy's verdict for one candidate.

    ``target`` is the id of the memory an UPDATE or DELETE acts on; ``text`` is what to
    store (ADD/UPDATE), which may merge the candidate with the target. ``restates`` marks an
    UPDATE whose candidate says again what the target says: the fact has not changed in the
    world, so the new version keeps the target's ``valid_from`` and the old version's
    validity is not closed (its wording and provenance still move to the new version).
    """

    operation: Operation
    target: str | None = None
    text: str | None = None
    confidence: float = 1.0
    reason: str | None = None
    restates: bool = False


@runtime_checkable
class MemoryPolicy(Protocol):
    """Decides ADD / UPDATE / DELETE / NOOP for one candidate against its neighbours."""

    @property
    def name(self) -> str:
        """Recorded in the history of every change the policy makes."""
        ...

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        """Return the decision for ``candidate``; ``neighbours`` are best-first."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-norm float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Identifies the model (stored indexes are only valid for the same one)."""
        ...

    @property
    def dim(self) -> int:
        """Length of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return an array of shape ``(len(texts), dim)``, rows L2-normalised."""
        ...
