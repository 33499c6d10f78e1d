"""Hybrid retrieval: BM25 + vector similarity + entity-graph expansion + validity/recency.

The retriever keeps derived, in-memory indexes over every stored version (the DuckDB tables
stay the source of truth): a BM25 index (built lazily, on the first text query), a vector
index, an entity -> rows map for graph expansion, and numpy columns for vectorised filters.
It is rebuilt from the store when a service opens and then follows every write.

Queries are analysed first: a speaker the query names ("What did Caroline research?") is
taken out of the words that are matched, because nearly every memory of a conversation
mentions its speakers, and becomes a prior on who said the memory instead.
"""

from __future__ import annotations

import bisect
import gc
import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from memory._bm25 import BM25Index
from memory._english import hypothetical
from memory._index import VectorIndex
from memory._namespace import Namespace, join_namespace
from memory._slots import SlotModel
from memory._temporal import Period, named_periods
from memory._trust import quarantine_reason
from memory._types import WINDOW_KEY, Embedder, Filter, MemoryRecord, ScoredMemory, Tier

__all__ = ["HybridRetriever", "RetrievalWeights", "is_past_query", "pack_within_budget"]

_NEVER = np.iinfo(np.int64).max
_TIERS = list(Tier)
_TIER_CODE = {tier: code for code, tier in enumerate(_TIERS)}
# Questions about the past may need superseded versions ("where did she live before?").
_PAST = re.compile(
    r"\b(before|previous(?:ly)?|used to|formerly|former|originally|earlier|at first|"
    r"prior|old|ago|last (?:year|month|week)|in (?:19|20)\d\d|back then|was|were|did)\b",
    re.IGNORECASE,
)


# "Before the corgi", "her previous job": the question names a later value and asks for one
# that came earlier (a past tense alone, "where did she grow up?", does not).
_BEFORE = re.compile(
    r"\b(before|previous(?:ly)?|used to|formerly|former|prior|earlier|replaced)\b",
    re.IGNORECASE,
)
_FOLLOW = 0.999  # a replaced version's score as a share of its successor's (just below it)
# Questions that ask when something happened ("when did she move to Porto?", "on which day
# did ...", "what was the date ...", "since when ...").
_WHEN = re.compile(
    r"\b(when|(?:what|which)(?: was| is)?(?: the)? (?:date|day|time|year|month)|how long ago)\b",
    re.IGNORECASE,
)


def is_past_query(query: str) -> bool:
    """True when a query asks about how things were, not how they are."""
    return bool(_PAST.search(query))


def pack_within_budget(hits: Sequence[ScoredMemory], budget_words: int) -> list[ScoredMemory]:
    """The context a reader of ``budget_words`` words gets: ``hits`` taken in rank order while
    their texts fit (words as ``str.split`` counts them); a hit that would overflow is
    skipped, and a shorter one after it may still fit."""
    packed, used = [], 0
    for hit in hits:
        words = len(hit.record.text.split())
        if used + words <= budget_words:
            packed.append(hit)
            used += words
        if used >= budget_words:
            break
    return packed


def _ns_time(value: datetime | None) -> int:
    if value is None:
        return _NEVER
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1_000_000)


@dataclass(frozen=True, slots=True)
class RetrievalWeights:
    """Weights of each retriever in reciprocal-rank fusion, and the score factors.

    Attributes:
        bm25: Weight of the keyword ranking of each memory's own text.
        window: Weight of the keyword ranking of each memory's text together with the
            conversation around it (the turns before and after its own, which
            :class:`memory.RuleExtractor` keeps in the metadata key :data:`WINDOW_KEY`):
            a reply found by the topic its neighbours named ("What does Jon plan for the
            grand opening?" -> "Tomorrow's gonna be an awesome night... savor all the good
            vibes"). In a store whose memories carry no window the two rankings are the
            same one, and the keyword weight is ``bm25 + window``.
        vector: Weight of the embedding ranking.
        graph: Weight of the ranking by entities the query names (speakers excluded).
        slot: Weight of the ranking, newest first, of what the one speaker a query names
            said about the slot it asks ("what does Ana drive now?": Ana's statements
            about her car), distractors left out; it needs a :class:`memory.SlotModel`.
            Questions that ask when something happened get no such ranking: the newest
            statement is not the one they name.
        slot_sure: The slot model's least probability for the slot a query asks before
            that ranking is fused (the slot prior below takes the model's own threshold).
        rrf_k: Reciprocal-rank constant; small values trust each ranking's top more.
        candidates: Depth of each ranking before fusion.
        superseded_factor: Factor for replaced versions under present-tense queries.
        past_superseded_factor: Factor for replaced versions under queries about the past.
        other_speaker_factor: Factor for memories not said by the one speaker a query
            names; 1 turns speaker analysis off (names are then matched as words).
        date_factor: Factor for memories dated outside the calendar period a query names
            ("in June", "on 13 October 2023"), by event or by session date; 1 turns it off.
        slot_factor: When a :class:`memory.SlotModel` reads the query as asking about one
            slot ("what does Ana drive now?"), the factor for memories that do not state that
            slot, and for distractors (hypothetical or denied statements); 1 turns it off.
        trust_weight: How much a memory's lack of trust lowers its score: the factor is
            ``1 - trust_weight * (1 - trust)`` (0.7 for a tool's output at trust 0.4);
            0 turns it off.
    """

    bm25: float = 0.5
    window: float = 0.5
    vector: float = 1.0
    graph: float = 0.25
    slot: float = 1.0
    slot_sure: float = 0.8
    rrf_k: float = 10.0
    candidates: int = 100
    superseded_factor: float = 0.5
    past_superseded_factor: float = 1.0
    other_speaker_factor: float = 0.5
    date_factor: float = 0.5
    slot_factor: float = 0.5
    trust_weight: float = 0.5


class _Columns:
    """Growable numpy columns, one row per indexed version."""

    _ARRAYS = (
        "ns",
        "tier",
        "version",
        "recorded",
        "superseded",
        "deleted",
        "time",
        "trust",
        "quarantined",
    )

    def __init__(self) -> None:
        self.size = 0
        cap = 1024
        self.ns = np.zeros(cap, np.int32)
        self.tier = np.zeros(cap, np.int8)
        self.version = np.zeros(cap, np.int32)
        self.recorded = np.zeros(cap, np.int64)
        self.superseded = np.full(cap, _NEVER, np.int64)
        self.deleted = np.zeros(cap, np.bool_)
        self.time = np.zeros(cap, np.int64)
        self.trust = np.ones(cap, np.float32)
        self.quarantined = np.zeros(cap, np.bool_)
        self.ids: list[str] = []
        self.authors: list[str] = []

    def _grow(self, extra: int) -> None:
        need = self.size + extra
        cap = len(self.ns)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for name in _Columns._ARRAYS:
            old = getattr(self, name)
            fill = _NEVER if name == "superseded" else 0
            grown = np.full(new_cap, fill, old.dtype)
            grown[: self.size] = old[: self.size]
            setattr(self, name, grown)

    def append(
        self,
        ids: Sequence[str],
        ns: npt.ArrayLike,
        tier: npt.ArrayLike,
        version: npt.ArrayLike,
        recorded: npt.ArrayLike,
        superseded: npt.ArrayLike,
        deleted: npt.ArrayLike,
        time: npt.ArrayLike,
        authors: Sequence[str],
        trust: npt.ArrayLike,
        quarantined: npt.ArrayLike,
    ) -> range:
        n = len(ids)
        self._grow(n)
        start, stop = self.size, self.size + n
        self.ns[start:stop] = ns
        self.tier[start:stop] = tier
        self.version[start:stop] = version
        self.recorded[start:stop] = recorded
        self.superseded[start:stop] = superseded
        self.deleted[start:stop] = deleted
        self.time[start:stop] = time
        self.trust[start:stop] = trust
        self.quarantined[start:stop] = quarantined
        self.ids.extend(ids)
        self.authors.extend(authors)
        self.size = stop
        return range(start, stop)


class HybridRetriever:
    """Ranks stored versions for a query under a :class:`Filter`.

    Thread-safe: the service calls :meth:`observe` after each committed write and
    :meth:`search` from any thread.
    """

    def __init__(
        self,
        embedder: Embedder,
        weights: RetrievalWeights | None = None,
        slot_model: SlotModel | None = None,
    ) -> None:
        self.embedder = embedder
        self.weights = weights or RetrievalWeights()
        self.slot_model = slot_model
        self._lock = threading.RLock()
        self._cols = _Columns()
        self._vectors = VectorIndex(embedder.dim)
        self._texts: list[str] = []
        self._bm25: BM25Index | None = None  # built on the first text query
        # Each row's conversation window (WINDOW_KEY), or None without one.
        self._windows: list[str | None] = []
        self._windowed = 0  # rows with a window
        self._window_bm25: BM25Index | None = None
        self._entities: dict[str, list[int]] = defaultdict(list)
        self._ns_codes: dict[str, int] = {}
        self._ns_names: list[Namespace] = []
        self._latest: dict[str, int] = {}  # memory id -> row of its newest version
        self._rows_by_id: dict[str, list[int]] = defaultdict(list)
        # Lower-cased speaker of each row ("" when unknown), and as a code into _speakers
        # (0 for unknown) so the speakers under a filter are one bincount away.
        self._speaker_of: list[str] = []
        self._speaker_code = np.zeros(1024, np.int32)
        self._speakers: dict[str, int] = {"": 0}
        # Day (ordinal) of each row's session when its metadata says it, else 0.
        self._session_day: list[int] = []
        # Slots each row states, and whether it is a distractor (metadata "slots" and
        # "distractor", which MemoryService.remember writes, or "about_other", a relative's
        # news by the extractor, or a statement of a slot that wishes or supposes).
        self._slots_of: list[frozenset[str]] = []
        self._distractor: list[bool] = []
        # (speaker, slot) -> (event time, row) of the rows that state it, oldest first, so a
        # search walks back from the newest and stops after the rows it ranks.
        self._rows_by_slot: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)

    # -- keeping up with the store -------------------------------------------------------

    def load_arrow(self, table: pa.Table) -> None:
        """Index every version in an export table (``export_arrow(all_versions=True)``).

        Bulk path: column by column rather than record by record, with the garbage
        collector paused (:func:`_collector_paused`). Deletion tombstones are not indexed;
        they mark the memory's versions as deleted.
        """
        if table.num_rows == 0:
            return
        with _collector_paused():
            self._load_arrow(table)

    def _load_arrow(self, table: pa.Table) -> None:
        tombstone = table.column("deleted").combine_chunks()
        deleted_ids: set[str] = set()
        if tombstone.true_count or tombstone.null_count:  # else no copy of every column
            deleted_ids = set(table.filter(tombstone).column("id").to_pylist())
            table = table.filter(pc.invert(tombstone))
        with self._lock:
            ns_strings = table.column("namespace").to_pylist()
            ns_codes = np.fromiter(
                (self._ns_code(s) for s in ns_strings), np.int32, len(ns_strings)
            )
            tier_codes = {tier.value: code for tier, code in _TIER_CODE.items()}
            tiers = np.fromiter((tier_codes[t] for t in table.column("tier").to_pylist()), np.int8)
            recorded = _micros(table.column("recorded_at"))
            superseded = _micros(table.column("superseded_at"))
            valid_from = _micros(table.column("valid_from"))
            time = np.where(valid_from == _NEVER, recorded, valid_from)
            ids = table.column("id").to_pylist()
            deleted = np.fromiter((i in deleted_ids for i in ids), np.bool_, len(ids))
            metadata = [_parse_metadata(m) for m in table.column("metadata").to_pylist()]
            rows = self._cols.append(
                ids,
                ns_codes,
                tiers,
                table.column("version").to_numpy(),
                recorded,
                superseded,
                deleted,
                time,
                table.column("author").to_pylist(),
                (
                    table.column("trust").to_numpy()
                    if "trust" in table.column_names
                    else np.ones(table.num_rows)
                ),
                [quarantine_reason(m) is not None for m in metadata],
            )
            texts = table.column("text").to_pylist()
            self._texts.extend(texts)
            self._add_windows(texts, metadata)
            self._add_row_facts(metadata, texts)
            self._vectors.add([str(r) for r in rows], self._embeddings(table))
            versions = self._cols.version
            for row, memory_id in zip(rows, ids, strict=True):
                self._rows_by_id[memory_id].append(row)
                prev = self._latest.get(memory_id)
                if prev is None or versions[row] > versions[prev]:
                    self._latest[memory_id] = row
            for row, ents in zip(rows, table.column("entities").to_pylist(), strict=True):
                for ent in ents or ():
                    self._entities[ent.lower()].append(row)
            self._bm25 = self._window_bm25 = None

    def _embeddings(self, table: pa.Table) -> npt.NDArray[np.float32]:
        """The table's embeddings as a matrix, computing the missing ones."""
        column = table.column("embedding")
        dim = self.embedder.dim
        if column.null_count == 0:
            flat = pc.list_flatten(column)  # chunk by chunk: one copy of the vectors, not two
            if len(flat) == len(table) * dim:
                values = flat.to_numpy() if flat.num_chunks else np.empty(0, np.float32)
                return np.asarray(values, np.float32).reshape(len(table), dim)
        texts = table.column("text").to_pylist()
        out = np.empty((len(table), dim), np.float32)
        missing = []
        for i, vec in enumerate(column.to_pylist()):
            if vec is None or len(vec) != dim:
                missing.append(i)
            else:
                out[i] = vec
        if missing:
            out[missing] = self.embedder.embed([texts[i] for i in missing])
        return out

    def observe(self, records: Iterable[MemoryRecord]) -> None:
        """Index newly written versions and mark the versions they replace or delete."""
        records = list(records)
        with self._lock:
            fresh: list[MemoryRecord] = []
            for record in records:
                if record.deleted and record.id in self._latest:
                    # A soft delete closes the live version; older versions stay for as_of.
                    when = _ns_time(record.superseded_at or record.recorded_at)
                    for row in self._rows_by_id[record.id]:
                        self._cols.superseded[row] = min(self._cols.superseded[row], when)
                        self._cols.deleted[row] = True
                else:
                    fresh.append(record)
            if not fresh:
                return
            for record in fresh:
                prev = self._latest.get(record.id)
                if prev is not None:
                    self._cols.superseded[prev] = min(
                        self._cols.superseded[prev], _ns_time(record.recorded_at)
                    )
            missing = [r.text for r in fresh if r.embedding is None]
            computed = iter(self.embedder.embed(missing)) if missing else iter(())
            vectors = np.stack(
                [r.embedding if r.embedding is not None else next(computed) for r in fresh]
            ).astype(np.float32, copy=False)
            rows = self._cols.append(
                [r.id for r in fresh],
                [self._ns_code(join_namespace(r.namespace)) for r in fresh],
                [_TIER_CODE[r.tier] for r in fresh],
                [r.version for r in fresh],
                [_ns_time(r.recorded_at) for r in fresh],
                [_ns_time(r.superseded_at) for r in fresh],
                [r.deleted for r in fresh],
                [_ns_time(r.valid_from or r.recorded_at) for r in fresh],
                [r.author for r in fresh],
                [r.trust for r in fresh],
                [quarantine_reason(r.metadata) is not None for r in fresh],
            )
            self._vectors.add([str(r) for r in rows], vectors)
            self._add_row_facts([r.metadata for r in fresh], [r.text for r in fresh])
            self._add_windows([r.text for r in fresh], [r.metadata for r in fresh], rows[0])
            for row, record in zip(rows, fresh, strict=True):
                self._texts.append(record.text)
                self._latest[record.id] = row
                self._rows_by_id[record.id].append(row)
                for ent in record.entities:
                    self._entities[ent.lower()].append(row)
                if self._bm25 is not None:
                    self._bm25.add(str(row), record.text)

    def _add_windows(
        self, texts: Sequence[str], metadata: Sequence[Mapping[str, Any]], first: int | None = None
    ) -> None:
        """Keep each row's conversation window, if it has one; rows from ``first`` on also
        go into a window index already built."""
        windows = [
            window if isinstance(window := m.get(WINDOW_KEY), str) and window else None
            for m in metadata
        ]
        self._windows += windows
        self._windowed += sum(window is not None for window in windows)
        if self._window_bm25 is not None and first is not None:
            for row, (text, window) in enumerate(zip(texts, windows, strict=True), first):
                self._window_bm25.add(str(row), _windowed(text, window))

    def _add_row_facts(self, metadata: Sequence[Mapping[str, Any]], texts: Sequence[str]) -> None:
        """What search reads of each row appended last (their metadata and texts, in row
        order): speaker, session day, slots stated, and whether it is a distractor."""
        first, end = len(self._speaker_of), len(self._speaker_of) + len(metadata)
        speakers = [s.lower() if isinstance(s := m.get("speaker"), str) else "" for m in metadata]
        stated = [
            frozenset(str(x) for x in s)
            if isinstance(s := m.get("slots"), list | tuple)
            else _NO_SLOTS
            for m in metadata
        ]
        self._session_day += [_day_ordinal(m.get("session_date")) for m in metadata]
        self._slots_of += stated
        self._distractor += [
            m.get("distractor") is True
            or m.get("about_other") is True
            # what was said wishes or supposes (only a row of a slot is ranked by slot)
            or (bool(slots) and hypothetical(_said(m, text)))
            for m, slots, text in zip(metadata, stated, texts, strict=True)
        ]
        times = self._cols.time[first:end].tolist()
        for row, slots, speaker, when in zip(
            range(first, end), stated, speakers, times, strict=True
        ):
            for slot in slots:
                bisect.insort(self._rows_by_slot[speaker, slot], (when, row))
        self._speaker_of += speakers
        if end > len(self._speaker_code):
            self._speaker_code = np.resize(self._speaker_code, 2 * end)
        code = self._speakers.setdefault
        self._speaker_code[first:end] = [code(s, len(self._speakers)) for s in speakers]

    def _ns_code(self, joined: str) -> int:
        code = self._ns_codes.get(joined)
        if code is None:
            code = self._ns_codes[joined] = len(self._ns_names)
            self._ns_names.append(tuple(joined.split("/")))
        return code

    def namespace_of(self, memory_id: str) -> Namespace | None:
        """The namespace of an indexed memory (deleted ones included), None if unknown."""
        with self._lock:
            row = self._latest.get(memory_id)
            return None if row is None else self._ns_names[int(self._cols.ns[row])]

    def trust_of(self, memory_id: str) -> float | None:
        """The trust of a memory's newest indexed version, None if unknown."""
        with self._lock:
            row = self._latest.get(memory_id)
            return None if row is None else float(self._cols.trust[row])

    def namespaces(self) -> list[Namespace]:
        """Every namespace that holds an indexed version."""
        with self._lock:
            return list(self._ns_names)

    @property
    def size(self) -> int:
        """Number of indexed versions."""
        return self._cols.size

    # -- search -----------------------------------------------------------------------------

    def mask(self, flt: Filter, readable: Sequence[Namespace] | None) -> npt.NDArray[np.bool_]:
        """Rows visible under ``flt`` and readable by the caller (None = no ACL limit)."""
        c = self._cols
        n = c.size
        prefix = flt.namespace_prefix
        allowed_ns = np.zeros(len(self._ns_names) + 1, np.bool_)
        readable_set = None if readable is None else set(readable)
        for code, ns in enumerate(self._ns_names):
            if ns[: len(prefix)] == prefix and (readable_set is None or ns in readable_set):
                allowed_ns[code] = True
        mask = allowed_ns[c.ns[:n]]
        if flt.tiers is not None:
            mask &= np.isin(c.tier[:n], [_TIER_CODE[t] for t in flt.tiers])
        if flt.as_of is not None:
            t = _ns_time(flt.as_of)
            mask &= (c.recorded[:n] <= t) & (c.superseded[:n] > t)
        elif not flt.include_superseded:
            mask &= (c.superseded[:n] == _NEVER) & ~c.deleted[:n]
        else:
            # Past versions yes, but a deleted memory's versions only through as_of.
            mask &= ~c.deleted[:n]
        if flt.since is not None:
            mask &= c.time[:n] >= _ns_time(flt.since)
        if flt.until is not None:
            mask &= c.time[:n] <= _ns_time(flt.until)
        if flt.authors is not None:
            authors = set(flt.authors)
            mask &= np.fromiter((a in authors for a in c.authors), np.bool_, n)
        if flt.quarantine == "exclude":
            mask &= ~c.quarantined[:n]
        elif flt.quarantine == "only":
            mask &= c.quarantined[:n]
        return mask

    def matching(self, flt: Filter, readable: Sequence[Namespace] | None) -> list[tuple[str, int]]:
        """``(memory_id, version)`` of every indexed version under ``flt``, unranked."""
        with self._lock:
            rows = np.flatnonzero(self.mask(flt, readable))
            return [(self._cols.ids[row], int(self._cols.version[row])) for row in rows]

    def search(
        self,
        query: str | None,
        flt: Filter,
        *,
        k: int,
        readable: Sequence[Namespace] | None = None,
        query_vector: npt.NDArray[np.float32] | None = None,
    ) -> list[tuple[str, int, float, dict[str, float]]]:
        """Best ``k`` versions as ``(memory_id, version, score, components)``."""
        w = self.weights
        with self._lock:
            n = self._cols.size
            if n == 0 or k <= 0:
                return []
            mask = self.mask(flt, readable)
            if not mask.any():
                return []
            words, named = (
                self.analyse(query, self._speakers_under(mask))
                if query
                else (query, frozenset[str]())
            )
            if query_vector is None and words:
                query_vector = self.embedder.embed([words])[0]
            fused: dict[int, float] = defaultdict(float)
            components: dict[int, dict[str, float]] = defaultdict(dict)
            # Fusion needs each retriever's deeper list; a vector-only query has nothing to
            # fuse, and the ANN's exact re-ranking grows with the depth asked.
            depth = max(w.candidates, k) if query else k
            if query_vector is not None:
                for rank, (key, sim) in enumerate(self._vectors.search(query_vector, depth, mask)):
                    row = int(key)
                    fused[row] += w.vector / (w.rrf_k + rank)
                    components[row]["vector"] = float(sim)
            if words:

                def allowed(key: str) -> bool:
                    return bool(mask[int(key)])

                hits = self._text_index().search(words, depth, allowed=allowed)
                for rank, (key, score) in enumerate(hits):
                    row = int(key)
                    fused[row] += w.bm25 / (w.rrf_k + rank)
                    components[row]["bm25"] = float(score)
                if w.window:
                    # Without any window the ranking is the one above.
                    if self._windowed:
                        hits = self._window_index().search(words, depth, allowed=allowed)
                    for rank, (key, _) in enumerate(hits):
                        fused[int(key)] += w.window / (w.rrf_k + rank)
                self._expand_graph(words, mask, fused, components)
            if len(named) == 1 and w.other_speaker_factor != 1.0:
                # Questions about someone are answered, nearly always, by what they said.
                # Memories with no known speaker (facts from documents, tools) may be about
                # anyone: only someone else's words are held back.
                speaker_of = self._speaker_of
                for row in fused:
                    if speaker_of[row] and speaker_of[row] not in named:
                        fused[row] *= w.other_speaker_factor
            if query and w.date_factor != 1.0 and (periods := named_periods(query)):
                for row in fused:
                    if not self._in_periods(row, periods):
                        fused[row] *= w.date_factor
            asked, sure = frozenset[str](), 0.0
            if query and (w.slot or w.slot_factor != 1.0):
                asked, sure = self._asked_slot(query_vector)
            # One speaker named, and not a question that asks when: such a question names
            # the statement it wants, not the newest.
            of_one = len(named) == 1 and not (query and _WHEN.search(query))
            if asked and w.slot and sure >= w.slot_sure and of_one:
                self._rank_slot(asked, next(iter(named)), mask, fused, components)
            if asked and w.slot_factor != 1.0:
                self._slot_prior(asked, fused)
            if w.trust_weight:
                # Untrusted memories (agents' notes, tool output) rank below trusted ones.
                trust = self._cols.trust
                for row in fused:
                    if trust[row] < 1.0:
                        fused[row] *= 1.0 - w.trust_weight * (1.0 - float(trust[row]))
            if query is not None and flt.as_of is None and flt.include_superseded:
                past = is_past_query(query)
                factor = w.past_superseded_factor if past else w.superseded_factor
                for row in fused:
                    if self._cols.superseded[row] != _NEVER:
                        fused[row] *= factor
                if past and _BEFORE.search(query):
                    self._follow_successors(fused)
            best = sorted(fused.items(), key=lambda item: item[1], reverse=True)[:k]
            cols = self._cols
            return [
                (cols.ids[row], int(cols.version[row]), score, components[row])
                for row, score in best
            ]

    def _follow_successors(self, fused: dict[int, float]) -> None:
        """Under a question about the past, rank a replaced version right after the version
        that replaced it when that one ranks higher: "what was her pet before the corgi?"
        names the new value, and the answer is the version before it."""
        cols = self._cols
        replaced = [row for row in fused if cols.superseded[row] != _NEVER]
        # Newest first, so a chain v3 > v2 > v1 keeps its order.
        for row in sorted(replaced, key=lambda r: -int(cols.version[r])):
            wanted = int(cols.version[row]) + 1
            for later in self._rows_by_id.get(str(cols.ids[row]), ()):
                if int(cols.version[later]) == wanted:
                    if later in fused and fused[later] > fused[row]:
                        fused[row] = fused[later] * _FOLLOW
                    break

    def _asked_slot(
        self, query_vector: npt.NDArray[np.float32] | None
    ) -> tuple[frozenset[str], float]:
        """The slot a query asks about as the slot model reads it (empty when unsure), and
        the model's probability for it."""
        model = self.slot_model
        if model is None or query_vector is None or model.dim != len(query_vector):
            return frozenset(), 0.0
        probs = model.probabilities("question", query_vector)
        (asked,) = model.question_slots_of(probs)
        return asked, float(probs.max())

    def _rank_slot(
        self,
        asked: frozenset[str],
        speaker: str,
        mask: npt.NDArray[np.bool_],
        fused: dict[int, float],
        components: dict[int, dict[str, float]],
    ) -> None:
        """Fuse the ranking, newest first, of what ``speaker`` said about the asked slot.

        The newest statement of a slot is the likeliest current value; a replaced one is
        the superseded factor's business, so questions about the past still find it.
        """
        distractor, w = self._distractor, self.weights
        found: list[tuple[int, int]] = []
        for slot in asked:
            taken = 0
            for when, row in reversed(self._rows_by_slot.get((speaker, slot), ())):
                if mask[row] and not distractor[row]:
                    found.append((when, row))
                    taken += 1
                    if taken == w.candidates:
                        break
        ranked = [row for _, row in sorted(set(found), reverse=True)[: w.candidates]]
        for rank, row in enumerate(ranked):
            fused[row] += w.slot / (w.rrf_k + rank)
            components[row]["slot"] = float(rank)

    def _slot_prior(self, asked: frozenset[str], fused: dict[int, float]) -> None:
        """Hold back memories that do not state the slot a query asks about, and distractors."""
        factor = self.weights.slot_factor
        for row in fused:
            if self._distractor[row] or not asked & self._slots_of[row]:
                fused[row] *= factor

    def _in_periods(self, row: int, periods: Sequence[Period]) -> bool:
        """Whether a row's event day or session day falls in one of ``periods``."""
        days = [date.fromordinal(self._session_day[row])] if self._session_day[row] else []
        event = int(self._cols.time[row])
        if event != _NEVER:
            days.append(datetime.fromtimestamp(event / 1_000_000, UTC).date())
        return any(period.contains(day) for period in periods for day in days)

    def _speakers_under(self, mask: npt.NDArray[np.bool_]) -> list[str]:
        """Known speakers of the rows a search may return."""
        codes = self._speaker_code[: len(mask)][mask]
        present = np.flatnonzero(np.bincount(codes, minlength=len(self._speakers)))
        names = list(self._speakers)
        return [names[code] for code in present if code]

    def analyse(
        self, query: str, speakers: Iterable[str] | None = None
    ) -> tuple[str, frozenset[str]]:
        """The query's words to match, and the known speakers it is about (lower-cased).

        A speaker is named by any part of their name or by a capitalised short form of
        three letters or more ("Mel" for "Melanie"). When several are named, the query is
        about those not named as owners: "What did Mel think of Caroline's plan?" is
        about Mel. Named speakers leave the words to match only when the speaker prior
        is on.

        Args:
            query: The query as asked.
            speakers: Lower-cased speakers to look for; all known ones by default.
        """
        known = [s for s in self._speakers if s] if speakers is None else list(speakers)
        if not known:
            return query, frozenset()
        named: set[str] = set()
        owners: set[str] = set()
        spans: list[tuple[int, int]] = []
        for match in _NAME_WORD.finditer(query):
            word = match["w"]
            if not word[0].isupper():
                continue  # "will", "may", "grace" in lower case are not names
            lower = word.lower()
            for speaker in known:
                parts = speaker.split()
                if lower in parts or (len(lower) >= 3 and any(p.startswith(lower) for p in parts)):
                    owned = match[0] != word  # "Caroline's", "James'"
                    (owners if owned else named).add(speaker)
                    spans.append(match.span())
                    break
        named = named or owners
        if not named or self.weights.other_speaker_factor == 1.0:
            return query, frozenset(named)
        words = query
        for start, end in reversed(spans):
            words = f"{words[:start]} {words[end:]}"
        return " ".join(words.split()) or query, frozenset(named)

    def _text_index(self) -> BM25Index:
        if self._bm25 is None:
            self._bm25 = _rows_index(self._texts)
        return self._bm25

    def _window_index(self) -> BM25Index:
        if self._window_bm25 is None:
            self._window_bm25 = _rows_index(list(map(_windowed, self._texts, self._windows)))
        return self._window_bm25

    def _expand_graph(
        self,
        query: str,
        mask: npt.NDArray[np.bool_],
        fused: dict[int, float],
        components: dict[int, dict[str, float]],
    ) -> None:
        """Boost rows that mention entities named in the query (one hop in the graph)."""
        lowered = query.lower()
        # Speakers are in nearly every row: they are the speaker prior's business.
        named = [
            ent
            for ent in self._entities
            if len(ent) > 2 and ent not in self._speakers and _mentions(lowered, ent)
        ]
        if not named:
            return
        counts: dict[int, int] = defaultdict(int)
        for ent in named:
            for row in self._entities[ent]:
                if mask[row]:
                    counts[row] += 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], -self._cols.recorded[item[0]]))
        w = self.weights
        for rank, (row, hits) in enumerate(ranked[: w.candidates]):
            fused[row] += w.graph / (w.rrf_k + rank)
            components[row]["graph"] = float(hits)


_NAME_WORD = re.compile(r"\b(?P<w>[^\W\d_]+)(?:'s|')?(?![\w'])")


def _rows_index(texts: Sequence[str]) -> BM25Index:
    """A keyword index of ``texts``, each under its row number, built in bulk."""
    index = BM25Index()
    with _collector_paused():
        index.add_many([str(row) for row in range(len(texts))], texts)
    return index


def _windowed(text: str, window: str | None) -> str:
    """What the window's keyword ranking reads of a row: its text and its window."""
    return f"{text} {window}" if window else text


_NO_SLOTS: frozenset[str] = frozenset()
_NO_METADATA: Mapping[str, Any] = MappingProxyType({})


def _said(metadata: Mapping[str, Any], text: str) -> str:
    """What was said, as the extractor kept it apart from the context it added."""
    said = metadata.get("original")
    return said if isinstance(said, str) and said else text


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an index is built in bulk: the rows and
    vectors at an open, an import or after an erasure, and the keyword index at the first
    search by words.

    A build makes a few containers per row (a list of its versions, its entities' lists,
    its metadata), and as they pile up the collector walks every one of them again and
    again: at a million memories an open took 28.3 s with it running and 24.3 s paused,
    and at 100,000 memories of chat the first search by words 4.0 s against 3.5 s.
    Nothing a build makes holds a cycle, so nothing is left for the collector once it
    resumes. The pause is process-wide, for as long as the build takes.
    """
    if not gc.isenabled():  # someone else paused it: theirs to resume
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse_metadata(metadata: object) -> Mapping[str, Any]:
    """A record's metadata as a mapping (export tables carry it as JSON text)."""
    if metadata == "{}":  # most of an imported corpus
        return _NO_METADATA
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return {}
    return metadata if isinstance(metadata, Mapping) else {}


def _day_ordinal(value: object) -> int:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).toordinal()
        except ValueError:
            return 0
    return 0


def _mentions(text: str, entity: str) -> bool:
    start = text.find(entity)
    while start != -1:
        end = start + len(entity)
        before_ok = start == 0 or not text[start - 1].isalnum()
        after_ok = end == len(text) or not text[end].isalnum()
        if before_ok and after_ok:
            return True
        start = text.find(entity, start + 1)
    return False


def _micros(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Timestamps as microseconds since the epoch; nulls become the 'never' sentinel."""
    arr = column.combine_chunks().cast(pa.timestamp("us", tz="UTC"))
    as_int = arr.cast(pa.int64())
    return np.asarray(as_int.fill_null(_NEVER).to_numpy(zero_copy_only=False), np.int64)
