"""MemoryService: the single owner of a memory store.

It embeds, checks access for every read and write, batches concurrent writes into one
transaction (group commit), asks the injected :class:`MemoryPolicy` what to do with each
candidate memory, and keeps the retrieval indexes in step with the store. The same class
runs in-process or as a Ray actor (see ``memory._ray``).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.trace import Span

from memory._access import AccessRules, Action, Principal, PrincipalKind, principal_arg
from memory._checks import check_embedding, check_float, check_strings, short, to_utc
from memory._duckdb_arrow import read_parquet, write_parquet
from memory._duckdb_write import memory_id_arg
from memory._embedding import Embedder, default_embedder
from memory._english import state_slots
from memory._extraction import STATEMENT_METADATA
from memory._namespace import Namespace, split_namespace, validate_namespace
from memory._records import RecordCache
from memory._retrieval import (
    HybridRetriever,
    RetrievalWeights,
    is_past_query,
    pack_within_budget,
)
from memory._slots import SlotModel, shipped_slot_model
from memory._store import MemoryStore
from memory._trust import (
    ORIGIN_KEY,
    QUARANTINE_KEY,
    Origin,
    TrustGuard,
    agrees,
    instruction_cue,
    origin_arg,
    quarantine_reason,
)
from memory._types import (
    AddOp,
    Candidate,
    ChangeInfo,
    CreditOp,
    Decision,
    DeleteOp,
    Edge,
    Erasure,
    Filter,
    HistoryEntry,
    MemoryPolicy,
    MemoryRecord,
    NewMemory,
    NewTask,
    Operation,
    ScoredMemory,
    Tier,
    UpdateOp,
    WriteOp,
)
from memory.errors import (
    AccessDeniedError,
    InvalidInputError,
    InvalidRecordError,
    MemoryNotFoundError,
)
from telemetry import Attr, capture_content, span
from telemetry._metrics import MEMORY_DURATION, MEMORY_OPERATIONS

__all__ = ["AppliedDecision", "MemoryService"]

_T = TypeVar("_T")
_R = TypeVar("_R")
_P = ParamSpec("_P")

MAX_K = 1000


@dataclass(frozen=True, slots=True)
class AppliedDecision:
    """A policy decision and the record it produced (None for NOOP)."""

    candidate: Candidate
    decision: Decision
    record: MemoryRecord | None
    seconds: float

    @property
    def quarantined(self) -> bool:
        """True when the guard stored the candidate in quarantine instead of adopting it."""
        return self.record is not None and quarantine_reason(self.record.metadata) is not None


@dataclass
class _Pending:
    ops: list[WriteOp]
    tasks: Sequence[NewTask] = ()
    edges: Sequence[Edge] = ()
    done: threading.Event = field(default_factory=threading.Event)
    result: list[MemoryRecord] | None = None
    error: BaseException | None = None


class _Gate:
    """Lets the service's calls run together, and an erasure alone (see
    :meth:`MemoryService.erase`, which replaces the store's file and the search index).

    An erasure waits for the calls under way, and holds off new ones from the moment it
    waits, so a busy service cannot starve it. A call made inside another on the same
    thread (a policy searching during ``remember``) is part of that call and never waits.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._calls = 0
        self._erasures = 0  # waiting or under way
        self._erasing = False
        self._depth = threading.local()

    @contextmanager
    def call(self) -> Iterator[None]:
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            with self._changed:
                while self._erasures:
                    self._changed.wait()
                self._calls += 1
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            if depth == 0:
                with self._changed:
                    self._calls -= 1
                    self._changed.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        if getattr(self._depth, "n", 0):
            raise RuntimeError("erase() cannot run inside another call of the same service")
        with self._changed:
            self._erasures += 1
            try:
                while self._calls or self._erasing:
                    self._changed.wait()
            except BaseException:
                self._erasures -= 1
                self._changed.notify_all()
                raise
            self._erasing = True
        try:
            yield
        finally:
            with self._changed:
                self._erasing = False
                self._erasures -= 1
                self._changed.notify_all()


def _gated(
    method: Callable[Concatenate[MemoryService, _P], _R],
) -> Callable[Concatenate[MemoryService, _P], _R]:
    """``method`` run as one of the service's calls (see :class:`_Gate`)."""

    @functools.wraps(method)
    def gated(self: MemoryService, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._gate.call():
            return method(self, *args, **kwargs)

    return gated


class _GroupCommit:
    """Batches writes from concurrent threads into one store transaction.

    The first writer to arrive becomes the leader, drains the queue and applies it. If a
    batch fails (e.g. one op's version conflict), each caller's ops are retried alone so one
    bad write never fails the others.
    """

    def __init__(self, store: MemoryStore, max_batch: int = 256) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off every other writer (bulk imports)."""
        with self._write_lock:
            yield

    def submit(
        self, ops: list[WriteOp], tasks: Sequence[NewTask] = (), edges: Sequence[Edge] = ()
    ) -> list[MemoryRecord]:
        pending = _Pending(ops, tasks, edges)
        with self._queue_lock:
            self._queue.append(pending)
        while not pending.done.is_set():
            if self._write_lock.acquire(timeout=0.05):
                try:
                    self._drain()
                finally:
                    self._write_lock.release()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _drain(self) -> None:
        while True:
            with self._queue_lock:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            if not batch:
                return
            try:
                results = self._store.apply(
                    [op for p in batch for op in p.ops],
                    tasks=[t for p in batch for t in p.tasks],
                    edges=[e for p in batch for e in p.edges],
                )
            except Exception:
                for p in batch:
                    try:
                        p.result = self._store.apply(p.ops, tasks=p.tasks, edges=p.edges)
                    except Exception as exc:  # handed to the caller, who re-raises it
                        p.error = exc
                    p.done.set()
                continue
            start = 0
            for p in batch:
                p.result = results[start : start + len(p.ops)]
                start += len(p.ops)
                p.done.set()


class MemoryService:
    """Shared hierarchical memory with access control, policies and hybrid retrieval.

    Args:
        store: the backing store; this service must be its only writer.
        embedder: turns texts into vectors (default: ``COLONY_EMBEDDER`` or MiniLM).
        policy: decides ADD / UPDATE / DELETE / NOOP in :meth:`remember`.
        rules: namespace access rules.
        weights: retrieval fusion weights.
        slot_model: tags what :meth:`remember` writes with the state slots it states and
            whether it is a distractor, and reads which slot a query asks about (see
            :class:`memory.SlotModel`). ``"auto"`` uses the model shipped for the embedder,
            if there is one; ``None`` leaves slots to the extractor's rules.
        guard: screens what arrives from untrusted origins (agents, tools, documents) and
            quarantines prompt injections and contradictions of more trusted memories (see
            :mod:`memory._trust`); ``None`` adopts everything, as the memory systems
            without a defence do. Each memory's origin and trust are recorded either way.
    """

    def __init__(
        self,
        store: MemoryStore,
        *,
        embedder: Embedder | None = None,
        policy: MemoryPolicy | None = None,
        rules: AccessRules | None = None,
        weights: RetrievalWeights | None = None,
        slot_model: SlotModel | Literal["auto"] | None = "auto",
        guard: TrustGuard | None = TrustGuard(),  # noqa: B008 (frozen, shared safely)
    ) -> None:
        if guard is not None and not isinstance(guard, TrustGuard):
            raise InvalidInputError(f"guard must be a TrustGuard or None, got {short(guard)}")
        self.store = store
        self.guard = guard
        self._trust = (guard or TrustGuard()).trust
        self.embedder = embedder or default_embedder()
        self.policy = policy
        self.rules = rules or AccessRules()
        if slot_model == "auto":
            slot_model = shipped_slot_model(getattr(self.embedder, "name", ""))
        elif slot_model is not None and not isinstance(slot_model, SlotModel):
            raise InvalidInputError(
                f"slot_model must be a SlotModel, 'auto' or None, got {slot_model!r:.80}"
            )
        if slot_model is not None and slot_model.dim != self.embedder.dim:
            raise InvalidInputError(
                f"slot model for {slot_model.embedder!r} reads {slot_model.dim}-d vectors; "
                f"the embedder gives {self.embedder.dim}-d"
            )
        self.slot_model = slot_model
        self._writes = _GroupCommit(store)
        self._records = RecordCache()
        self._gate = _Gate()
        self._retriever = self._index(weights)
        # gen_ai.memory.store.id of this service's spans.
        self._store_id = str(getattr(store, "location", None) or type(store).__name__)

    def _index(self, weights: RetrievalWeights | None) -> HybridRetriever:
        """The search index of every version in the store. Its rows come in the order they
        were written, as the service that wrote them indexed them: ties in ranking then fall
        as they did for that service, and no sort of every row and its vector is paid."""
        retriever = HybridRetriever(self.embedder, weights, self.slot_model)
        retriever.load_arrow(self.store.export_arrow(all_versions=True, ordered=False))
        return retriever

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = ":memory:",
        *,
        embedder: Embedder | None = None,
        policy: MemoryPolicy | None = None,
        rules: AccessRules | None = None,
        weights: RetrievalWeights | None = None,
        slot_model: SlotModel | Literal["auto"] | None = "auto",
        guard: TrustGuard | None = TrustGuard(),  # noqa: B008 (frozen, shared safely)
    ) -> MemoryService:
        """Open (or create) a DuckDB memory file and serve it."""
        from memory._duckdb import DuckDBStore

        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return cls(
            DuckDBStore.from_path(path),
            embedder=embedder,
            policy=policy,
            rules=rules,
            weights=weights,
            slot_model=slot_model,
            guard=guard,
        )

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> MemoryService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------------

    def _commit(
        self, ops: list[WriteOp], tasks: Sequence[NewTask] = (), edges: Sequence[Edge] = ()
    ) -> list[MemoryRecord]:
        records = self._writes.submit(ops, tasks, edges)
        self._retriever.observe(records)
        self._records.written(records)
        return records

    @_gated
    def add(
        self,
        text: str,
        *,
        principal: Principal,
        namespace: Namespace,
        tier: Tier | str = Tier.SEMANTIC,
        entities: Sequence[str] = (),
        provenance: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        trust: float = 1.0,
        utility: float = 0.0,
        memory_id: str | None = None,
        origin: Origin | str | None = None,
    ) -> MemoryRecord:
        """Store one memory as it is (no policy); returns version 1.

        ``origin`` says where the text came from (default: the principal's own kind, see
        :mod:`memory._trust`); the stored trust is ``trust`` capped at that origin's. Text
        from an untrusted origin that instructs an AI, or contradicts a more trusted memory,
        is stored in quarantine (see :meth:`quarantined`).
        """
        memory = NewMemory(
            namespace=validate_namespace(namespace),
            text=text,
            tier=_tier(tier),
            valid_from=valid_from,
            valid_to=valid_to,
            entities=check_strings(entities, "entities"),
            provenance=check_strings(provenance, "provenance"),
            metadata=_mapping(metadata, "metadata"),
            trust=trust,
            utility=utility,
            id=memory_id,
        )
        return self.add_many([memory], principal=principal, origin=origin)[0]

    @_gated
    def add_many(
        self,
        memories: Sequence[NewMemory],
        *,
        principal: Principal,
        origin: Origin | str | None = None,
    ) -> list[MemoryRecord]:
        """Store several memories in one transaction (embedded in one batch).

        A memory's ``metadata["origin"]`` overrides ``origin`` for that memory; each is
        screened as :meth:`add` says.
        """
        memories = _items(memories, NewMemory, "memories")
        with self._span("create_memory", count=len(memories)) as current:
            records = self._commit(list(self._add_ops(memories, principal, origin)))
            if len(records) == 1:
                _describe(current, records[0])
        return records

    @_gated
    def write(
        self,
        *,
        principal: Principal,
        memories: Sequence[NewMemory] = (),
        credits: Mapping[str, float] | None = None,
        tasks: Sequence[NewTask] = (),
        edges: Sequence[Edge] = (),
        origin: Origin | str | None = None,
        info: ChangeInfo | None = None,
    ) -> list[MemoryRecord]:
        """Add ``memories``, credit others' utility, record ``tasks`` and ``edges``: one
        transaction, all or nothing.

        ``credits`` maps a memory id to the amount its utility gains (see :meth:`credit`).
        Edges may join what the same call adds (their ids chosen by the caller). Returns
        the added memories' records, then the credited ones', in the order given. A team
        records a run this way: its trajectory, its task node, the insights it used and the
        edges between them land together, or not at all.
        """
        memories = _items(memories, NewMemory, "memories")
        tasks = _items(tasks, NewTask, "tasks")
        edges = _items(edges, Edge, "edges")
        if credits is None:
            credits = {}
        if not isinstance(credits, Mapping):
            raise InvalidInputError(f"credits must map memory ids to numbers, got {short(credits)}")
        count = len(memories) + len(credits)
        with self._span("create_memory" if memories else "update_memory", count=count):
            ops: list[WriteOp] = list(self._add_ops(memories, principal, origin))
            ops += self._credit_ops(credits, principal, info)
            for task in tasks:
                self.rules.check(principal, Action.WRITE, validate_namespace(task.namespace))
            self._check_edges(edges, principal)
            return self._commit(ops, tasks, edges)

    @_gated
    def credit(
        self,
        memory_id: str,
        delta: float,
        *,
        principal: Principal,
        info: ChangeInfo | None = None,
    ) -> MemoryRecord:
        """Add ``delta`` to a memory's utility, as a new version, whatever its version is.

        Credits commute, so no expected version is needed and concurrent credits all count
        (an update's compare-and-set would make one of them reread and retry). A memory
        deleted meanwhile is left as it is; its deleted version is returned.
        """
        with self._span("update_memory", count=1) as current:
            credits = {memory_id_arg(memory_id): delta}
            record = self._commit(self._credit_ops(credits, principal, info))[0]
            _describe(current, record)
        return record

    def _credit_ops(
        self, credits: Mapping[str, float], principal: Principal, info: ChangeInfo | None
    ) -> list[WriteOp]:
        actor = principal_arg(principal).id
        ops: list[WriteOp] = []
        for memory_id, delta in credits.items():
            self.rules.check(principal, Action.WRITE, self._namespace_of(memory_id_arg(memory_id)))
            delta = check_float(delta, f"credit of memory {short(memory_id)}")
            ops.append(CreditOp(memory_id, delta, info or ChangeInfo(actor=actor)))
        return ops

    def _add_ops(
        self, memories: Sequence[NewMemory], principal: Principal, origin: object
    ) -> list[AddOp]:
        actor = principal_arg(principal).id  # checked even for an empty batch
        default = origin_arg(origin, principal)
        for memory in memories:
            self.rules.check(principal, Action.WRITE, validate_namespace(memory.namespace))
            if not isinstance(memory.text, str):
                raise InvalidInputError(
                    f"memory text must be a string, got {type(memory.text).__name__}: "
                    f"{memory.text!r:.80}"
                )
        needs = [m.text for m in memories if m.embedding is None]
        vectors = iter(self.embedder.embed(needs)) if needs else iter(())
        ready = []
        for m in memories:
            metadata = _mapping(m.metadata, "metadata")
            given = metadata.get(ORIGIN_KEY)
            source = default if given is None else origin_arg(given, principal)
            memory = replace(
                m,
                author=actor,
                embedding=m.embedding if m.embedding is not None else next(vectors),
            )
            ready.append(self._vetted(memory, metadata, source))
        info = ChangeInfo(actor=actor)
        return [AddOp(m, info) for m in ready]

    def _vetted(self, memory: NewMemory, metadata: dict[str, Any], origin: Origin) -> NewMemory:
        """``memory`` with its origin, its trust capped at the origin's, and the guard's verdict."""
        _refuse_quarantine_key(metadata)
        trust = min(check_float(memory.trust, "trust", low=0.0, high=1.0), self._trust[origin])
        metadata[ORIGIN_KEY] = origin.value
        if self.guard is not None and self.guard.screens(trust):
            reason = self._screen(memory.text, memory.embedding, memory.namespace, metadata, trust)
            if reason is not None:
                metadata[QUARANTINE_KEY] = reason
        return replace(memory, metadata=metadata, trust=trust)

    def _screen(
        self,
        text: str,
        vector: Any,
        namespace: Namespace,
        metadata: Mapping[str, Any],
        trust: float,
    ) -> str | None:
        """Why untrusted content must not be adopted (instructions, contradiction), or None."""
        cue = instruction_cue(text)
        if cue is not None:
            return f"instructions to an AI ({cue})"
        conflict = self._contradicted(text, vector, namespace, metadata, trust)
        if conflict is not None:
            return f"contradicts memory {conflict.id} (trust {conflict.trust:.2f})"
        return None

    def _contradicted(
        self,
        text: str,
        vector: Any,
        namespace: Namespace,
        metadata: Mapping[str, Any],
        trust: float,
    ) -> MemoryRecord | None:
        """A more trusted current memory that states a different value of the same slot.

        Neighbours are searched in the namespace's root (a team, a user, an agent), so a
        note filed elsewhere in the team still meets the team's facts.
        """
        assert self.guard is not None
        flt = Filter(namespace_prefix=namespace[:2])
        hits = self._search_rows(None, flt, k=8, readable=None, query_vector=vector)
        speaker = metadata.get("speaker")
        lowered = text.lower()

        def about_same(record: MemoryRecord) -> bool:
            subject = record.metadata.get("speaker")
            return (
                (isinstance(subject, str) and subject.lower() in lowered)
                or (subject is not None and subject == speaker)
                or any(e.lower() in lowered for e in record.entities)
            )

        rivals = [
            hit.record
            for hit in hits
            if self.guard.outranks(hit.record.trust, trust) and about_same(hit.record)
        ]
        if not rivals:
            return None
        slots = self._slots_of([text], [metadata], speaker)[0]
        if not slots:
            return None
        theirs_all = self._slots_of([r.text for r in rivals], [r.metadata for r in rivals], speaker)
        for record, theirs in zip(rivals, theirs_all, strict=True):
            subject = record.metadata.get("speaker")
            names = [n for n in (subject, speaker) if isinstance(n, str) and n]
            if slots & theirs and not agrees(text, record.text, names):
                return record
        return None

    def _slots_of(
        self, texts: Sequence[str], metadata: Sequence[Mapping[str, Any]], speaker: object
    ) -> list[set[str]]:
        """The slots each text states: tagged in its metadata, found by the extractor's rules
        and, where neither finds one, read by the slot model."""
        found = []
        for text, meta in zip(texts, metadata, strict=True):
            names = [n for n in (meta.get("speaker"), speaker) if isinstance(n, str) and n]
            tagged = meta.get("slots")
            found.append(
                set(tagged if isinstance(tagged, list | tuple) else ()) | state_slots(text, names)
            )
        unknown = [i for i, slots in enumerate(found) if not slots]
        if unknown and self.slot_model is not None:
            vectors = self.embedder.embed([texts[i] for i in unknown])
            for i, slots in zip(unknown, self.slot_model.statement_slots(vectors), strict=True):
                found[i] |= slots
        return found

    @_gated
    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        principal: Principal,
        expected_version: int,
        entities: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_from: datetime | None = None,
        utility: float | None = None,
        info: ChangeInfo | None = None,
    ) -> MemoryRecord:
        """Write a new version if the memory is still at ``expected_version``.

        Raises VersionConflictError otherwise: reread and retry.
        """
        with self._span("update_memory", count=1) as current:
            record = self._update(
                memory_id,
                text,
                principal,
                expected_version,
                entities,
                metadata,
                valid_from,
                utility,
                info,
            )
            _describe(current, record)
        return record

    def _update(
        self,
        memory_id: str,
        text: str | None,
        principal: Principal,
        expected_version: int,
        entities: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        valid_from: datetime | None,
        utility: float | None,
        info: ChangeInfo | None,
    ) -> MemoryRecord:
        self.rules.check(principal, Action.WRITE, self._namespace_of(memory_id))
        if text is not None or entities is not None or valid_from is not None:
            self._protect(principal, memory_id, "update")
        embedding = None if text is None else self.embedder.embed([text])[0]
        op = UpdateOp(
            memory_id,
            expected_version,
            text=text,
            embedding=embedding,
            entities=None if entities is None else check_strings(entities, "entities"),
            metadata=None if metadata is None else _mapping(metadata, "metadata"),
            valid_from=valid_from,
            utility=utility,
            info=info or ChangeInfo(actor=principal.id),
        )
        return self._commit([op])[0]

    @_gated
    def delete(
        self,
        memory_id: str,
        *,
        principal: Principal,
        expected_version: int | None = None,
        info: ChangeInfo | None = None,
    ) -> MemoryRecord:
        """Soft-delete a memory: it disappears from current reads; history stays."""
        with self._span("delete_memory", count=1) as current:
            self.rules.check(principal, Action.WRITE, self._namespace_of(memory_id))
            self._protect(principal, memory_id, "delete")
            op = DeleteOp(memory_id, expected_version, info or ChangeInfo(actor=principal.id))
            record = self._commit([op])[0]
            _describe(current, record)
        return record

    def erase(self, namespace_prefix: Namespace, *, principal: Principal) -> Erasure:
        """Remove the memories under ``namespace_prefix`` for good, as a right to erasure
        asks: every version and its history, the namespaces' tasks, the edges touching them
        and the entities nothing else mentions (:meth:`MemoryStore.erase`). A delete keeps
        a memory's history; an erasure keeps nothing, and a store file is rewritten so that
        no byte of it is left there. The search index is rebuilt without them.

        An admin may erase any namespace, a user one they may write in full (their own
        ``user/<name>``); an agent may delete memories, not erase them. The erasure runs
        alone: it waits for the service's calls under way, and holds off new ones until it
        is done. Memories already handed out (agents' prompts, checkpoints, exports, traces
        with content capture on) are outside the store and are not reached.

        Raises:
            InvalidInputError: an empty or malformed prefix (erasing everything takes naming
                each namespace).
            AccessDeniedError: an agent, or a principal who may not write a namespace under
                the prefix.
        """
        prefix = validate_namespace(namespace_prefix)
        principal = principal_arg(principal)
        if principal.kind is PrincipalKind.AGENT:
            raise AccessDeniedError(
                f"{principal.id} may not erase {'/'.join(prefix)!r}: an agent may delete "
                "memories (their history stays), a user or an admin may erase them"
            )
        for namespace in [prefix, *self.store.list_namespaces(prefix, limit=1_000_000)]:
            self.rules.check(principal, Action.WRITE, namespace)
        with self._span("delete_memory") as current:
            current.set_attribute(Attr.MEMORY_NAMESPACE, "/".join(prefix))
            with self._gate.alone(), self._writes.exclusive():
                erased = self.store.erase(prefix)
                self._retriever = self._index(self._retriever.weights)
                self._records.clear()
            current.set_attributes(
                {Attr.MEMORY_COUNT: erased.memories, Attr.ERASED: erased.versions}
            )
        return erased

    def _protect(self, principal: Principal, memory_id: str, action: str) -> None:
        """Refuse a direct change of a memory more trusted than the principal's own word."""
        if self.guard is None:
            return
        mine = self._trust[origin_arg(None, principal)]
        theirs = self._retriever.trust_of(memory_id_arg(memory_id))
        if theirs is not None and self.guard.outranks(theirs, mine):
            raise AccessDeniedError(
                f"{principal.id} (trust {mine:.2f}) may not {action} memory {memory_id!r}, "
                f"written with trust {theirs:.2f}; a user or admin may"
            )

    @contextmanager
    def _span(
        self, operation: str | None, *, count: int | None = None, name: str | None = None
    ) -> Iterator[Span]:
        """A memory-operation span of this service's store."""
        attributes = {Attr.MEMORY_STORE: self._store_id, Attr.MEMORY_COUNT: count}
        started = time.perf_counter()
        # Named by the store's file (its full path is the attribute).
        with span(
            operation, Path(self._store_id).name, attributes=attributes, name=name, leaf=True
        ) as current:
            yield current
        where = {Attr.OPERATION: operation or name or "", Attr.MEMORY_STORE: self._store_id}
        MEMORY_OPERATIONS.add(1, where)
        MEMORY_DURATION.record(time.perf_counter() - started, where)

    def _namespace_of(self, memory_id: str) -> Namespace:
        """A memory's namespace for access checks, from the index (no store read)."""
        namespace = self._retriever.namespace_of(memory_id_arg(memory_id))
        if namespace is None:
            return self.store.get(memory_id).namespace  # raises MemoryNotFoundError
        return namespace

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` with the service's embedder (e.g. to key a memory by another text).

        Returns the embedder's float32 matrix, one row per text.
        """
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise InvalidInputError(f"embed takes a sequence of strings, got {texts!r:.80}")
        return self.embedder.embed(list(texts))

    def check_access(self, principal: Principal, action: Action, namespace: Namespace) -> None:
        """Raise AccessDeniedError unless ``principal`` may ``action`` in ``namespace``.

        Lets a caller fail early (before a run) where a search would skip the namespace.
        """
        self.rules.check(principal, Action(action), validate_namespace(namespace))

    @_gated
    def add_task(
        self,
        text: str,
        *,
        principal: Principal,
        namespace: Namespace,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a task (query) node of the memory graph; returns its id (``task:<hex>``)."""
        self.rules.check(principal, Action.WRITE, validate_namespace(namespace))
        return self.store.add_task(text, namespace, metadata=metadata)

    @_gated
    def add_edges(self, edges: Sequence[Edge], *, principal: Principal) -> int:
        """Add graph edges; the principal must be able to write each edge's namespace."""
        edges = _items(edges, Edge, "edges")
        self._check_edges(edges, principal)
        return self.store.add_edges(edges)

    def _check_edges(self, edges: Sequence[Edge], principal: Principal) -> None:
        for edge in edges:
            self.rules.check(principal, Action.WRITE, validate_namespace(edge.namespace))

    # -- policy-managed writes ---------------------------------------------------------------

    @_gated
    def remember(
        self,
        candidates: Sequence[Candidate],
        *,
        principal: Principal,
        policy: MemoryPolicy | None = None,
        neighbours: int = 5,
        origin: Origin | str | None = None,
    ) -> list[AppliedDecision]:
        """Run each candidate through the memory policy and apply its decision.

        Candidates are handled in order, so a later candidate sees what earlier ones wrote.
        ``origin`` is where the candidates came from (default: the principal's own kind).
        From an untrusted origin, a candidate that instructs an AI, or whose decision would
        replace, delete or contradict a more trusted memory, is stored in quarantine instead
        (:attr:`AppliedDecision.quarantined`); one that only repeats a trusted memory is a NOOP.
        """
        policy = policy or self.policy
        if policy is None:
            raise InvalidInputError(
                "remember() needs a memory policy: pass policy=... here or to MemoryService "
                "(for example policies.HeuristicPolicy())"
            )
        claimed = origin_arg(origin, principal)
        for candidate in candidates:
            self.rules.check(principal, Action.WRITE, validate_namespace(candidate.namespace))
            _refuse_quarantine_key(_mapping(candidate.metadata, "metadata"))
        texts = [c.text for c in candidates if c.embedding is None]
        vectors = iter(self.embedder.embed(texts)) if texts else iter(())
        # The speaker is stored as metadata, where search's speaker and slot analysis and
        # the policies read a memory's speaker (the extractor writes it there too).
        ready = [
            replace(
                c,
                embedding=c.embedding if c.embedding is not None else next(vectors),
                metadata={
                    **({"speaker": c.speaker} if c.speaker else {}),
                    **c.metadata,
                    ORIGIN_KEY: claimed.value,
                },
            )
            for c in candidates
        ]
        trust = self._trust[claimed]
        applied = []
        for candidate in self._tag_slots(ready):
            started = time.perf_counter()
            near = self._neighbours(candidate, neighbours)
            decision = policy.decide(candidate, near)
            elapsed = time.perf_counter() - started
            if self.guard is not None and self.guard.screens(trust):
                candidate, decision = self._guarded(candidate, decision, near, trust)
            operation = _DECISION_SPANS[decision.operation]
            with self._span(operation, name=None if operation else "noop_memory") as current:
                current.set_attributes(
                    {
                        Attr.DECISION: decision.operation.value,
                        Attr.POLICY: policy.name,
                        Attr.CONFIDENCE: float(decision.confidence),
                        Attr.DECIDE_MS: round(elapsed * 1e3, 4),
                        Attr.MEMORY_NAMESPACE: "/".join(candidate.namespace),
                    }
                )
                if decision.target is not None:
                    current.set_attribute(Attr.TARGET, decision.target)
                record = self._apply_decision(
                    candidate, decision, near, principal, policy.name, trust
                )
                if record is not None:
                    _describe(current, record)
            applied.append(AppliedDecision(candidate, decision, record, elapsed))
        return applied

    def _guarded(
        self, candidate: Candidate, decision: Decision, near: Sequence[ScoredMemory], trust: float
    ) -> tuple[Candidate, Decision]:
        """The policy's decision for an untrusted candidate, or quarantine (see remember)."""
        assert self.guard is not None
        op = decision.operation
        if op is Operation.NOOP:
            return candidate, decision
        if op is Operation.ADD:
            said = decision.text or candidate.text
            where, meta = candidate.namespace, candidate.metadata
            reason = self._screen(said, candidate.embedding, where, meta, trust)
            if reason is None:
                return candidate, decision
            return _quarantine(candidate, decision, reason)
        cue = instruction_cue(candidate.text)
        if cue is not None:
            return _quarantine(candidate, decision, f"instructions to an AI ({cue})")
        target = self._target(decision, near)
        if not self.guard.outranks(target.trust, trust):
            return candidate, decision
        said = decision.text or candidate.text
        speaker = target.metadata.get("speaker")
        names = [speaker] if isinstance(speaker, str) else []
        if op is Operation.UPDATE and agrees(said, target.text, names):
            return candidate, Decision(
                Operation.NOOP,
                target=target.id,
                confidence=decision.confidence,
                reason=f"repeats trusted memory {target.id}",
            )
        reason = f"would {op.value} memory {target.id} (trust {target.trust:.2f})"
        return _quarantine(candidate, decision, reason)

    def _tag_slots(self, candidates: list[Candidate]) -> list[Candidate]:
        """Add the slot model's slots to each candidate's ``slots``, and mark distractors."""
        model = self.slot_model
        if model is None or not candidates:
            return candidates
        vectors = np.stack([c.embedding for c in candidates if c.embedding is not None])
        found = model.statement_slots(vectors)
        distractor = model.distractor(vectors)
        tagged = []
        for candidate, slots, modal in zip(candidates, found, distractor, strict=True):
            if not _is_statement(candidate):
                slots = frozenset()
            given = candidate.metadata.get("slots")
            union = slots | set(given if isinstance(given, list | tuple) else ())
            metadata: dict[str, Any] = {**candidate.metadata, "slots": sorted(union)}
            if union and modal:
                metadata["distractor"] = True
            tagged.append(replace(candidate, metadata=metadata))
        return tagged

    def _neighbours(self, candidate: Candidate, k: int) -> list[ScoredMemory]:
        """The ``k`` nearest memories a policy decides against, best first.

        A candidate that states a slot also sees its speaker's memories of that slot found
        deeper in the ranking ("my daily ride is a Civic" against "I drive a Ford Focus"):
        they take the places of the weakest other neighbours.
        """
        slots = set(candidate.metadata.get("slots") or ())
        flt = Filter(namespace_prefix=candidate.namespace, tiers=(candidate.tier,))
        near = self._search_rows(
            None, flt, k=k * 4 if slots else k, readable=None, query_vector=candidate.embedding
        )
        if not slots or len(near) <= k:
            return near[:k]
        speaker = candidate.speaker

        def same_state(hit: ScoredMemory) -> bool:
            meta = hit.record.metadata
            return bool(slots & set(meta.get("slots") or ())) and (
                speaker is None or meta.get("speaker") == speaker
            )

        keep = [i for i, hit in enumerate(near) if same_state(hit)][:k]
        keep += [i for i in range(len(near)) if i not in keep][: k - len(keep)]
        return [near[i] for i in sorted(keep)]

    def _apply_decision(
        self,
        candidate: Candidate,
        decision: Decision,
        near: Sequence[ScoredMemory],
        principal: Principal,
        policy_name: str,
        trust: float,
    ) -> MemoryRecord | None:
        actor = principal_arg(principal).id
        info = ChangeInfo(
            actor=actor,
            policy=policy_name,
            confidence=decision.confidence,
            reason=decision.reason,
        )
        op = decision.operation
        if decision.restates and op is not Operation.UPDATE:
            raise InvalidInputError(
                f"policy {policy_name!r} returned {op.value} with restates=True; "
                "only an UPDATE restates its target"
            )
        if op is Operation.NOOP:
            return None
        if op is Operation.ADD:
            memory = NewMemory(
                namespace=candidate.namespace,
                text=decision.text or candidate.text,
                tier=candidate.tier,
                author=actor,
                valid_from=candidate.time,
                entities=candidate.entities,
                provenance=candidate.provenance,
                metadata=dict(candidate.metadata),
                trust=trust,
                embedding=candidate.embedding if decision.text in (None, candidate.text) else None,
            )
            if memory.embedding is None:
                memory = replace(memory, embedding=self.embedder.embed([memory.text])[0])
            return self._commit([AddOp(memory, info)])[0]
        target = self._target(decision, near)
        if op is Operation.DELETE:
            return self._commit([DeleteOp(target.id, target.version, info)])[0]
        text = decision.text or candidate.text
        valid_from = None if decision.restates else candidate.time  # None: the target's
        if valid_from is not None and target.valid_from is not None:
            # World time only moves forward along a memory's versions: a statement dated
            # before the version it replaces closes that version where it began.
            valid_from = max(_aware(valid_from), target.valid_from)
        merged_prov = tuple(dict.fromkeys((*target.provenance, *candidate.provenance)))
        merged_ents = tuple(dict.fromkeys((*target.entities, *candidate.entities)))
        update = UpdateOp(
            target.id,
            target.version,
            text=text,
            embedding=candidate.embedding
            if text == candidate.text
            else self.embedder.embed([text])[0],
            entities=merged_ents,
            provenance=merged_prov,
            metadata={**_memory_metadata(target.metadata), **candidate.metadata},
            valid_from=valid_from,
            trust=min(target.trust, trust),
            close_validity=not decision.restates,
            info=info,
        )
        # Versions of one memory are linked by versions() and history(); a `supersedes`
        # edge is for a memory that replaces a different one.
        return self._commit([update])[0]

    def _target(self, decision: Decision, near: Sequence[ScoredMemory]) -> MemoryRecord:
        for hit in near:
            if hit.record.id == decision.target:
                return hit.record
        if decision.target is None:
            raise InvalidInputError(
                f"policy returned {decision.operation.value} without a target memory id"
            )
        try:
            return self.store.get(decision.target)
        except MemoryNotFoundError:
            raise InvalidInputError(
                f"policy returned {decision.operation.value} for unknown memory {decision.target!r}"
            ) from None

    # -- reads -------------------------------------------------------------------------------

    @_gated
    def get(
        self, memory_id: str, *, principal: Principal, as_of: datetime | None = None
    ) -> MemoryRecord:
        """A memory's current version, or the one visible at system time ``as_of``."""
        record = self.store.get(memory_id, as_of=as_of)
        self.rules.check(principal, Action.READ, record.namespace)
        return record

    @_gated
    def history(self, memory_id: str, *, principal: Principal) -> list[HistoryEntry]:
        """Every change of a memory, oldest first."""
        versions = self.store.versions(memory_id)
        if not versions:
            raise MemoryNotFoundError(f"no memory with id {memory_id!r}")
        self.rules.check(principal, Action.READ, versions[-1].namespace)
        return self.store.history(memory_id)

    @_gated
    def versions(self, memory_id: str, *, principal: Principal) -> list[MemoryRecord]:
        """Every version of a memory, oldest first."""
        versions = self.store.versions(memory_id)
        if not versions:
            raise MemoryNotFoundError(f"no memory with id {memory_id!r}")
        self.rules.check(principal, Action.READ, versions[-1].namespace)
        return versions

    @_gated
    def search(
        self,
        query: str,
        *,
        principal: Principal,
        namespace_prefix: Namespace = (),
        tiers: Sequence[Tier] | None = None,
        k: int = 10,
        as_of: datetime | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        include_superseded: bool | None = None,
        budget_words: int | None = None,
    ) -> list[ScoredMemory]:
        """Hybrid search over the namespaces ``principal`` may read, best first.

        ``include_superseded=None`` decides from the query: a question about the past
        ("where did she live before?") can reach replaced versions; one about the present
        only sees current ones.

        ``budget_words`` makes the result a context of at most that many words: the ``k``
        best hits are taken in rank order while their texts fit (:func:`pack_within_budget`;
        ``colony bench locomo`` measures recall this way, with ``k=200``).
        """
        if not isinstance(query, str):
            raise InvalidInputError(f"search query must be a string, got {query!r:.80}")
        _check_k(k)
        if budget_words is not None:
            _check_budget(budget_words)
        if include_superseded is None:
            include_superseded = is_past_query(query)
        for label, value in (("since", since), ("until", until), ("as_of", as_of)):
            to_utc(value, label)  # a datetime or None, else refused by name
        flt = Filter(
            namespace_prefix=validate_namespace(namespace_prefix, allow_empty=True),
            tiers=_tiers(tiers),
            since=since,
            until=until,
            as_of=as_of,
            include_superseded=include_superseded,
            metadata=_mapping(metadata, "metadata"),
        )
        with self._span("search_memory") as current:
            if capture_content():
                current.set_attribute(Attr.MEMORY_QUERY, query)
            readable = self.rules.readable(principal, self._retriever.namespaces())
            hits = self._search_rows(query, flt, k=k, readable=readable)
            if budget_words is not None:
                hits = pack_within_budget(hits, budget_words)
            current.set_attribute(Attr.MEMORY_COUNT, len(hits))
        return hits

    @_gated
    def search_vector(
        self,
        vector: Any,
        *,
        principal: Principal,
        namespace_prefix: Namespace = (),
        k: int = 10,
    ) -> list[ScoredMemory]:
        """Nearest memories to an embedding (no text query).

        Raises:
            InvalidInputError: ``vector`` is not a finite 1-D vector of the embedder's
                dimension, or ``k`` is not an integer in 1..``MAX_K``.
        """
        _check_k(k)
        flt = Filter(namespace_prefix=validate_namespace(namespace_prefix, allow_empty=True))
        query_vector = check_embedding(vector, "vector")
        if query_vector is None or query_vector.size != self.embedder.dim:
            size = None if query_vector is None else query_vector.size
            raise InvalidInputError(
                f"vector must have the embedder's {self.embedder.dim} dimensions, got {size}"
            )
        readable = self.rules.readable(principal, self._retriever.namespaces())
        return self._search_rows(None, flt, k=k, readable=readable, query_vector=query_vector)

    def _search_rows(
        self,
        query: str | None,
        flt: Filter,
        *,
        k: int,
        readable: Sequence[Namespace] | None,
        query_vector: Any = None,
    ) -> list[ScoredMemory]:
        # Metadata filters are applied after ranking: fetch more to still return k.
        fetch_k = k * 4 if flt.metadata else k
        rows = self._retriever.search(
            query, flt, k=fetch_k, readable=readable, query_vector=query_vector
        )
        # Hits carry no embeddings: nothing downstream reads them, and they dominate the read.
        records = self._records.fetch(
            [(memory_id, version) for memory_id, version, _, _ in rows], self._load
        )
        hits = []
        for (_, _, score, components), record in zip(rows, records, strict=True):
            if all(record.metadata.get(key) == value for key, value in flt.metadata.items()):
                hits.append(ScoredMemory(record, score, components))
        return hits[:k]

    def _load(self, keys: list[tuple[str, int]]) -> list[MemoryRecord]:
        return self.store.fetch(keys, with_embeddings=False)

    @_gated
    def quarantined(
        self, *, principal: Principal, namespace_prefix: Namespace = (), limit: int = 100
    ) -> list[MemoryRecord]:
        """Current memories in quarantine that ``principal`` may read, newest first.

        Each one's ``metadata["quarantine"]`` says why it is there.
        """
        _check_at_least("limit", limit, 1)
        flt = Filter(
            namespace_prefix=validate_namespace(namespace_prefix, allow_empty=True),
            quarantine="only",
        )
        readable = self.rules.readable(principal, self._retriever.namespaces())
        keys = self._retriever.matching(flt, readable)
        records = self._records.fetch(keys, self._load)
        records.sort(key=lambda r: r.recorded_at, reverse=True)
        return records[:limit]

    @_gated
    def release(self, memory_id: str, *, principal: Principal, reason: str = "") -> MemoryRecord:
        """Take a memory out of quarantine: a new version, found by searches again.

        Only a user or an admin may release, not an agent: what an agent could release, a
        compromised agent could too. The memory keeps its origin and trust. To reject it
        instead, :meth:`delete` it.

        Raises:
            AccessDeniedError: ``principal`` is an agent, or may not write the namespace.
            InvalidInputError: the memory is not in quarantine.
        """
        if principal_arg(principal).kind is PrincipalKind.AGENT:
            raise AccessDeniedError(
                f"{principal.id} may not release memories from quarantine; a user or admin must"
            )
        record = self.get(memory_id, principal=principal)
        if quarantine_reason(record.metadata) is None:
            raise InvalidInputError(f"memory {memory_id!r} is not in quarantine")
        metadata = {k: v for k, v in record.metadata.items() if k != QUARANTINE_KEY}
        info = ChangeInfo(
            actor=principal.id,
            reason=f"released from quarantine ({record.metadata[QUARANTINE_KEY]})"
            + (f": {reason}" if reason else ""),
        )
        with self._span("update_memory", count=1) as current:
            self.rules.check(principal, Action.WRITE, record.namespace)
            op = UpdateOp(record.id, record.version, metadata=metadata, info=info)
            released = self._commit([op])[0]
            _describe(current, released)
        return released

    @_gated
    def list_namespaces(
        self,
        *,
        principal: Principal,
        prefix: Namespace = (),
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Namespace]:
        """Namespaces under ``prefix`` that ``principal`` may read.

        Raises:
            InvalidInputError: A bad prefix, ``max_depth`` that is not a positive int or
                None, or ``limit`` / ``offset`` that is not an int >= 1 / >= 0.
        """
        prefix = validate_namespace(prefix, allow_empty=True)
        _check_at_least("limit", limit, 1)
        _check_at_least("offset", offset, 0)
        found = self.store.list_namespaces(prefix, max_depth=max_depth, limit=10_000)
        return self.rules.readable(principal, found)[offset : offset + limit]

    # -- bulk ----------------------------------------------------------------------------------

    @_gated
    def export_arrow(
        self, *, principal: Principal, namespace_prefix: Namespace = (), all_versions: bool = False
    ) -> pa.Table:
        """Records under a namespace prefix as an Arrow table."""
        prefix = validate_namespace(namespace_prefix, allow_empty=True)
        table = self.store.export_arrow(Filter(namespace_prefix=prefix), all_versions=all_versions)
        readable = set(self.rules.readable(principal, self._retriever.namespaces()))
        keep = [tuple(ns.split("/")) in readable for ns in table.column("namespace").to_pylist()]
        return table.filter(pa.array(keep, pa.bool_()))

    @_gated
    def import_arrow(self, table: pa.Table, *, principal: Principal) -> int:
        """Bulk-import a table of the export schema; every namespace must be writable.

        Missing ids, versions, times and authors are filled in here, so the rows indexed for
        search are exactly the rows stored. Missing embeddings are computed.
        """
        if not isinstance(table, pa.Table):
            raise InvalidInputError(
                f"import_arrow needs a pyarrow.Table, got {type(table).__name__}"
            )
        if "namespace" not in table.column_names:
            raise InvalidInputError("import table lacks the required column 'namespace'")
        for ns in pc.unique(table.column("namespace")).to_pylist():
            if ns is None:
                raise InvalidInputError("import table has a row with a null namespace")
            self.rules.check(principal, Action.WRITE, validate_namespace(split_namespace(ns)))
        actor = principal_arg(principal).id  # also for a table without rows
        table = _fill_import_defaults(table, actor, datetime.now(UTC))
        with self._writes.exclusive():
            count = self.store.import_arrow(table, actor=actor)
            self._records.clear()
            self._retriever.load_arrow(table)
        return count

    def export_parquet(
        self,
        path: str | os.PathLike[str],
        *,
        principal: Principal,
        namespace_prefix: Namespace = (),
    ) -> int:
        """Write memories to a Parquet file; returns the row count."""
        table = self.export_arrow(principal=principal, namespace_prefix=namespace_prefix)
        write_parquet(table, path)
        return table.num_rows

    def import_parquet(self, path: str | os.PathLike[str], *, principal: Principal) -> int:
        """Import memories from a Parquet file written by :meth:`export_parquet`."""
        return self.import_arrow(read_parquet(path), principal=principal)

    @_gated
    def check_integrity(self, *, principal: Principal) -> list[str]:
        """What is wrong with the store and its search index; empty when nothing is.

        See :meth:`memory.DuckDBStore.check_integrity` for the store's checks; on top, the
        search index must hold every stored version. Reads every namespace, so it needs a
        principal allowed to read the root (an admin).
        """
        self.rules.check(principal, Action.READ, ())
        problems = self.store.check_integrity()
        stored = self.store.count(Filter(include_superseded=True))  # tombstones are not indexed
        if self._retriever.size != stored:
            problems.append(
                f"the search index holds {self._retriever.size} versions, the store {stored}"
            )
        return problems

    @_gated
    def stats(self) -> dict[str, int]:
        """Counts for dashboards and benchmarks."""
        return {
            "current": self.store.count(Filter()),
            "versions": self._retriever.size,
            "namespaces": len(self._retriever.namespaces()),
        }


def _items(value: object, kind: type[_T], field: str) -> list[_T]:
    """``value`` as a list of ``kind`` objects, else a clear error naming ``field``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidInputError(f"{field} must be a list of {kind.__name__}, got {short(value)}")
    for item in value:
        if not isinstance(item, kind):
            raise InvalidInputError(f"{field} must hold {kind.__name__} objects, got {short(item)}")
    return list(value)


def _mapping(value: object, field: str) -> dict[str, Any]:
    """A copy of ``value`` as a dict (``None`` is empty); anything but a mapping is refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRecordError(f"{field} must be a mapping, got {short(value)}")
    return dict(value)


_TIER_NAMES = ", ".join(t.value for t in Tier)


def _tier(value: Tier | str) -> Tier:
    """A tier, or its name."""
    try:
        return Tier(value)
    except ValueError:
        raise InvalidInputError(f"tier {short(value)} is not one of {_TIER_NAMES}") from None


def _tiers(value: object) -> tuple[Tier, ...] | None:
    """``None`` (every tier) or a list or tuple of tier names."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise InvalidInputError(f"tiers must be a list of tier names or None, got {short(value)}")
    try:
        return tuple(Tier(t) for t in value)
    except ValueError:
        raise InvalidInputError(f"tiers must be among {_TIER_NAMES}, got {short(value)}") from None


def _refuse_quarantine_key(metadata: Mapping[str, Any]) -> None:
    if QUARANTINE_KEY in metadata:
        raise InvalidInputError(
            f"metadata key {QUARANTINE_KEY!r} is the memory service's to set, got "
            f"{short(metadata[QUARANTINE_KEY])}; release() takes a memory out of quarantine"
        )


def _quarantine(
    candidate: Candidate, decision: Decision, reason: str
) -> tuple[Candidate, Decision]:
    """The candidate marked for quarantine, and an ADD of it as the policy worded it."""
    marked = replace(candidate, metadata={**candidate.metadata, QUARANTINE_KEY: reason})
    return marked, Decision(
        Operation.ADD,
        text=decision.text if decision.operation is Operation.ADD else candidate.text,
        confidence=decision.confidence,
        reason=f"quarantined: {reason}; the policy decided {decision.operation.value}",
    )


def _check_at_least(label: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidInputError(f"{label} must be an int >= {least}, got {short(value)}")


def _check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= MAX_K:
        raise InvalidInputError(f"k must be an integer in 1..{MAX_K}, got {short(k)}")


def _check_budget(budget_words: object) -> None:
    if isinstance(budget_words, bool) or not isinstance(budget_words, int) or budget_words < 1:
        raise InvalidInputError(
            f"budget_words must be an integer >= 1 or None, got {short(budget_words)}"
        )


# The slot model reads single statements ("I moved to Porto last week"); a longer turn is a
# narrative, which the policy must not replace wholesale when it touches a slot.
STATEMENT_WORDS = 16


def _memory_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` without what described the statement it came from (see
    :data:`memory._extraction.STATEMENT_METADATA`): an UPDATE's new statement brings its own."""
    return {key: value for key, value in metadata.items() if key not in STATEMENT_METADATA}


def _is_statement(candidate: Candidate) -> bool:
    """True when what was said is at most :data:`STATEMENT_WORDS` words and asks nothing."""
    said = candidate.metadata.get("original")
    text = said if isinstance(said, str) and said.strip() else candidate.text
    return len(text.split()) <= STATEMENT_WORDS and "?" not in text


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fill_import_defaults(table: pa.Table, author: str, now: datetime) -> pa.Table:
    """Give every row an id, version, author, recorded time and deleted flag."""
    n = table.num_rows

    def fill(name: str, make: pa.Array) -> None:
        nonlocal table
        if name not in table.column_names:
            table = table.append_column(name, make)
            return
        column = table.column(name)
        if column.null_count:
            merged = pc.if_else(pc.is_null(column), make, column)
            table = table.set_column(table.column_names.index(name), name, merged)

    fill("id", pa.array([uuid.uuid4().hex for _ in range(n)], pa.string()))
    fill("version", pa.array(np.ones(n, np.int64)))
    fill("tier", pa.array([Tier.SEMANTIC.value] * n, pa.string()))
    fill("author", pa.array([author] * n, pa.string()))
    fill("recorded_at", pa.array([now] * n, pa.timestamp("us", tz="UTC")))
    fill("deleted", pa.array(np.zeros(n, np.bool_)))
    for name in ("superseded_at", "valid_from"):
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(n, pa.timestamp("us", tz="UTC")))
    for name in ("entities", "provenance"):
        if name not in table.column_names:
            table = table.append_column(name, pa.array([[]] * n, pa.list_(pa.string())))
    fill("metadata", pa.array(["{}"] * n, pa.string()))
    if "embedding" not in table.column_names:
        table = table.append_column("embedding", pa.nulls(n, pa.list_(pa.float32())))
    return table


# gen_ai.operation.name of the span of each decision (None: the conventions name no NOOP).
_DECISION_SPANS: dict[Operation, str | None] = {
    Operation.ADD: "create_memory",
    Operation.UPDATE: "update_memory",
    Operation.DELETE: "delete_memory",
    Operation.NOOP: None,
}


def _describe(current: Span, record: MemoryRecord) -> None:
    """The memory an operation wrote, as attributes of its span."""
    current.set_attributes(
        {
            Attr.MEMORY_ID: record.id,
            Attr.MEMORY_NAMESPACE: "/".join(record.namespace),
            Attr.MEMORY_TYPE: record.tier.value,
            Attr.VERSION: record.version,
        }
    )
    if capture_content():
        current.set_attribute(
            Attr.MEMORY_RECORDS, json.dumps([{"id": record.id, "content": record.text}])
        )
