"""A conformance suite every :class:`memory._store.MemoryStore` backend must pass.

Use it by subclassing :class:`StoreConformance` in a test module that defines a ``backend``
fixture returning a :class:`Backend`; see ``test_store_conformance.py``.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest

from memory._graph import entity_subgraph, graph_view, k_hop
from memory._store import MemoryStore, add, delete, update
from memory._types import (
    AddOp,
    ChangeInfo,
    CreditOp,
    DeleteOp,
    Edge,
    EdgeType,
    Filter,
    NewMemory,
    NewTask,
    NodeKind,
    Operation,
    Tier,
    UpdateOp,
)
from memory.errors import (
    InvalidInputError,
    InvalidNamespaceError,
    InvalidRecordError,
    MemoryNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    VersionConflictError,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NS_A = ("team", "a")


@dataclass
class Backend:
    """How the suite opens a backend.

    Attributes:
        name: Shown in test ids.
        open: Opens the store; called again after ``close`` it must see the same data when
            ``path`` is set (a file) and may start empty otherwise.
        path: The backing file, for persistence, lock and corruption tests (None: skipped).
        opener: ``"module:Class.method"`` that opens a path, used by a subprocess in the
            lock test.
        open_path: Opens any path (for corrupt-file tests).
        fresh: Opens a new, empty store of the same kind (a restore target).
    """

    name: str
    open: Callable[[], Any]
    fresh: Callable[[], Any]
    path: Path | None = None
    opener: str | None = None
    open_path: Callable[[Path], Any] | None = None


def mem(text: str = "Ana lives in Lisbon", ns: tuple[str, ...] = NS_A, **kw: Any) -> NewMemory:
    """A NewMemory with test defaults."""
    return NewMemory(namespace=ns, text=text, **kw)


def snapshot(store: Any) -> tuple[int, int, int]:
    """Row counts that a refused write must leave unchanged."""
    every = store.count(Filter(include_superseded=True))
    table = store.export_arrow(all_versions=True)
    return every, table.num_rows, len(store.edges())


class StoreConformance:
    """Tests every backend runs. Subclasses provide a ``backend`` fixture."""

    @pytest.fixture
    def store(self, backend: Backend) -> Iterator[Any]:
        store = backend.open()
        yield store
        store.close()

    # -- add / get -------------------------------------------------------------------------

    def test_is_a_memory_store(self, store: Any) -> None:
        assert isinstance(store, MemoryStore)

    def test_add_then_get_round_trips_every_field(self, store: Any) -> None:
        emb = np.arange(4, dtype=np.float32)
        rec = add(
            store,
            mem(
                tier=Tier.INSIGHT,
                author="writer",
                valid_from=T0,
                valid_to=T0 + timedelta(days=1),
                entities=("Ana", "Lisbon"),
                provenance=("D1:3",),
                metadata={"topic": "home", "n": 2, "nested": {"a": [1, 2]}},
                trust=0.5,
                utility=-1.5,
                embedding=emb,
            ),
        )
        assert len(rec.id) == 32 and rec.version == 1 and rec.is_current
        assert rec.recorded_at.tzinfo is not None and rec.recorded_at.utcoffset() == timedelta(0)
        got = store.get(rec.id)
        assert got == rec
        assert got.tier is Tier.INSIGHT and got.valid_from == T0
        assert got.metadata == {"topic": "home", "n": 2, "nested": {"a": [1, 2]}}
        assert got.entities == ("Ana", "Lisbon") and got.provenance == ("D1:3",)
        assert got.embedding is not None and got.embedding.dtype == np.float32
        np.testing.assert_array_equal(got.embedding, emb)

    def test_given_id_is_kept_and_duplicate_id_refused(self, store: Any) -> None:
        rec = add(store, mem(id="fact-1"))
        assert rec.id == "fact-1"
        before = snapshot(store)
        with pytest.raises(InvalidRecordError, match="fact-1"):
            add(store, mem("another text", id="fact-1"))
        assert snapshot(store) == before

    def test_times_accept_naive_and_aware_and_return_utc(self, store: Any) -> None:
        paris = timezone(timedelta(hours=2))
        a = add(store, mem(valid_from=datetime(2024, 5, 1, 14, 0, tzinfo=paris)))
        b = add(store, mem(valid_from=datetime(2024, 5, 1, 12, 0)))  # naive means UTC
        assert store.get(a.id).valid_from == T0 == store.get(b.id).valid_from
        assert store.get(a.id).valid_from.utcoffset() == timedelta(0)

    def test_unknown_id_raises_naming_it(self, store: Any) -> None:
        with pytest.raises(MemoryNotFoundError, match="no-such-id"):
            store.get("no-such-id")
        with pytest.raises(MemoryNotFoundError, match="no-such-id"):
            store.versions("no-such-id")
        with pytest.raises(MemoryNotFoundError, match="no-such-id"):
            store.history("no-such-id")
        with pytest.raises(MemoryNotFoundError, match="no-such-id"):
            delete(store, "no-such-id")
        with pytest.raises(MemoryNotFoundError, match="no-such-id"):
            update(store, UpdateOp("no-such-id", 1, text="x"))

    def test_recorded_at_strictly_increases(self, store: Any) -> None:
        batch = store.apply([AddOp(mem(f"fact {i}")) for i in range(50)])
        singles = [add(store, mem(f"single {i}")) for i in range(20)]
        times = [r.recorded_at for r in batch + singles]
        assert all(a < b for a, b in itertools.pairwise(times))

    def test_fetch_returns_requested_versions_in_order(self, store: Any) -> None:
        a = add(store, mem("a"))
        b = add(store, mem("b"))
        a2 = update(store, UpdateOp(a.id, 1, text="a2"))
        got = store.fetch([(b.id, 1), (a.id, 1), (a.id, 2)])
        assert [r.text for r in got] == ["b", "a", "a2"] and got[2] == a2
        with pytest.raises(MemoryNotFoundError):
            store.fetch([(a.id, 9)])

    def test_fetch_without_embeddings(self, store: Any) -> None:
        a = add(store, mem("a", embedding=np.ones(3)))
        full, bare = store.fetch([(a.id, 1)])[0], store.fetch([(a.id, 1)], with_embeddings=False)[0]
        assert full.embedding is not None and bare.embedding is None
        assert bare == full  # embeddings are not part of a record's equality

    # -- update ----------------------------------------------------------------------------

    def test_update_writes_next_version_and_keeps_the_old(self, store: Any) -> None:
        v1 = add(store, mem(entities=("Ana",), metadata={"k": 1}, embedding=np.ones(3)))
        v2 = update(store, UpdateOp(v1.id, 1, text="Ana lives in Porto", trust=0.7))
        assert (v2.version, v2.text, v2.trust) == (2, "Ana lives in Porto", 0.7)
        assert v2.entities == ("Ana",) and v2.metadata == {"k": 1}  # unchanged fields copied
        assert v2.embedding is not None and v2.recorded_at > v1.recorded_at
        assert store.get(v1.id) == v2
        old = store.get(v1.id, as_of=v1.recorded_at)
        assert old.text == v1.text and old.superseded_at == v2.recorded_at
        assert store.get(v1.id, as_of=v2.recorded_at - timedelta(microseconds=1)).version == 1
        with pytest.raises(MemoryNotFoundError):
            store.get(v1.id, as_of=v1.recorded_at - timedelta(microseconds=1))
        assert [r.version for r in store.versions(v1.id)] == [1, 2]

    def test_update_with_stale_version_conflicts(self, store: Any) -> None:
        v1 = add(store, mem())
        update(store, UpdateOp(v1.id, 1, text="second"))
        before = snapshot(store)
        with pytest.raises(VersionConflictError) as info:
            update(store, UpdateOp(v1.id, 1, text="lost update"))
        assert (info.value.expected, info.value.actual) == (1, 2)
        assert snapshot(store) == before and store.get(v1.id).text == "second"

    def test_update_of_deleted_memory_conflicts_with_actual_none(self, store: Any) -> None:
        v1 = add(store, mem())
        delete(store, v1.id)
        with pytest.raises(VersionConflictError) as info:
            update(store, UpdateOp(v1.id, 1, text="revive"))
        assert info.value.actual is None and "deleted" in str(info.value)

    def test_update_closes_validity(self, store: Any) -> None:
        t1 = T0 + timedelta(days=10)
        a = add(store, mem(valid_from=T0))
        update(store, UpdateOp(a.id, 1, text="moved", valid_from=t1))
        old, new = store.versions(a.id)
        assert old.valid_to == t1 and new.valid_from == t1 and new.valid_to is None
        b = add(store, mem())
        b2 = update(store, UpdateOp(b.id, 1, text="moved"))
        assert store.versions(b.id)[0].valid_to == b2.recorded_at  # no valid_from: closes now
        c = add(store, mem(valid_from=T0))
        update(store, UpdateOp(c.id, 1, text="typo fixed", close_validity=False))
        assert store.versions(c.id)[0].valid_to is None

    def test_update_cannot_close_validity_before_it_began(self, store: Any) -> None:
        a = add(store, mem(valid_from=T0))
        with pytest.raises(InvalidRecordError, match="close_validity"):
            update(store, UpdateOp(a.id, 1, text="x", valid_from=T0 - timedelta(days=1)))
        update(store, UpdateOp(a.id, 1, valid_from=T0 - timedelta(days=1), close_validity=False))

    # -- delete / history ------------------------------------------------------------------

    def test_soft_delete_keeps_history(self, store: Any) -> None:
        v1 = add(store, mem(), ChangeInfo(actor="alice"))
        v2 = update(store, UpdateOp(v1.id, 1, text="Ana lives in Porto"))
        tomb = delete(store, v1.id, 2, ChangeInfo(actor="bob", policy="heuristic", reason="stale"))
        assert tomb.deleted and tomb.version == 3 and not tomb.is_current
        with pytest.raises(MemoryNotFoundError, match="deleted"):
            store.get(v1.id)
        assert (
            store.get(v1.id, as_of=tomb.recorded_at - timedelta(microseconds=1))
            == store.fetch([(v1.id, 2)])[0]
        )
        with pytest.raises(MemoryNotFoundError):
            store.get(v1.id, as_of=tomb.recorded_at)
        versions = store.versions(v1.id)
        assert [v.deleted for v in versions] == [False, False, True]
        assert versions[1].superseded_at == tomb.recorded_at
        log = store.history(v1.id)
        assert [h.operation for h in log] == [Operation.ADD, Operation.UPDATE, Operation.DELETE]
        assert (log[0].actor, log[2].actor, log[2].policy, log[2].reason) == (
            "alice",
            "bob",
            "heuristic",
            "stale",
        )
        assert (log[1].old_text, log[1].new_text) == (v1.text, v2.text)
        assert (log[2].old_text, log[2].new_text, log[2].old_version) == (v2.text, None, 2)
        assert store.count() == 0
        assert store.scan(Filter(include_superseded=True)) == versions[:2]  # no tombstone
        assert store.scan(Filter(as_of=v2.recorded_at)) == [versions[1]]

    def test_delete_checks_version_and_refuses_twice(self, store: Any) -> None:
        v1 = add(store, mem())
        with pytest.raises(VersionConflictError):
            delete(store, v1.id, expected_version=5)
        delete(store, v1.id)
        with pytest.raises(MemoryNotFoundError, match="already deleted"):
            delete(store, v1.id)
        with pytest.raises(VersionConflictError):
            delete(store, v1.id, expected_version=2)

    def test_history_records_change_info(self, store: Any) -> None:
        info = ChangeInfo(actor="agent-7", policy="learned", confidence=0.83, reason="new fact")
        rec = add(store, mem(), info)
        (entry,) = store.history(rec.id)
        assert (entry.operation, entry.actor, entry.policy) == (Operation.ADD, "agent-7", "learned")
        assert entry.confidence == pytest.approx(0.83) and entry.reason == "new fact"
        assert (entry.new_text, entry.new_version, entry.old_version) == (rec.text, 1, None)
        assert entry.at == rec.recorded_at

    # -- batches ---------------------------------------------------------------------------

    def test_batch_applies_in_order(self, store: Any) -> None:
        out = store.apply(
            [
                AddOp(mem(id="m1")),
                UpdateOp("m1", 1, text="updated in the same batch"),
                AddOp(mem("second")),
                DeleteOp("m1", 2),
            ]
        )
        assert [r.version for r in out] == [1, 2, 1, 3] and out[3].deleted
        assert store.count() == 1

    def test_batch_edges_follow_each_version(self, store: Any) -> None:
        add(store, mem(id="old", entities=("Ana", "Bo")))
        out = store.apply(
            [
                AddOp(mem(id="new", entities=("Ana", "Bo"))),
                UpdateOp("new", 1, entities=("Bo", "Cy")),
                UpdateOp("old", 1, entities=("Cy",)),
                UpdateOp("old", 2, entities=("Dee",)),
                DeleteOp("new", 2),
            ]
        )
        t_add, t_upd, _, t_old2, t_del = (r.recorded_at for r in out)

        def dsts(node: str, at: datetime | None = None) -> list[str]:
            return sorted(e.dst for e in store.edges(nodes=[node], as_of=at))

        assert dsts("new", t_add) == ["entity:ana", "entity:bo"]
        assert dsts("new", t_upd) == ["entity:bo", "entity:cy"]
        assert dsts("new", t_del) == []
        assert dsts("old", t_old2) == ["entity:dee"]
        assert dsts("old", t_add) == ["entity:ana", "entity:bo"]
        assert [r.version for r in store.versions("new")] == [1, 2, 3]
        assert [r.superseded_at for r in store.versions("new")] == [t_upd, t_del, None]
        assert [h.operation for h in store.history("old")] == [
            Operation.ADD,
            Operation.UPDATE,
            Operation.UPDATE,
        ]

    def test_credit_adds_to_the_current_utility_as_a_new_version(self, store: Any) -> None:
        rec = add(store, mem(utility=0.5))
        info = ChangeInfo(actor="orchestrator", reason="run succeeded")
        out = store.apply([CreditOp(rec.id, 1.0, info), CreditOp(rec.id, -0.25)])
        assert [(r.version, r.utility) for r in out] == [(2, 1.5), (3, 1.25)]
        assert store.get(rec.id).utility == 1.25 and store.get(rec.id).text == rec.text
        assert [(h.operation, h.actor) for h in store.history(rec.id)][1] == (
            Operation.UPDATE,
            "orchestrator",
        )
        # Another writer's update in between: a credit needs no expected version.
        update(store, UpdateOp(rec.id, 3, text="Ana lives in Porto"))
        (after,) = store.apply([CreditOp(rec.id, 2.0)])
        assert (after.version, after.utility, after.text) == (5, 3.25, "Ana lives in Porto")

    def test_credit_of_a_deleted_memory_writes_nothing(self, store: Any) -> None:
        rec = add(store, mem())
        delete(store, rec.id)
        before = snapshot(store)
        (out,) = store.apply([CreditOp(rec.id, 1.0)])
        assert out.deleted and out.version == 2 and snapshot(store) == before
        with pytest.raises(MemoryNotFoundError, match="nobody"):
            store.apply([CreditOp("nobody", 1.0)])

    @pytest.mark.parametrize("delta", [float("nan"), float("inf"), "1", None, True])
    def test_bad_credit_is_refused_naming_it(self, store: Any, delta: Any) -> None:
        rec = add(store, mem())
        with pytest.raises(InvalidRecordError, match="credit delta"):
            store.apply([AddOp(mem("first")), CreditOp(rec.id, delta)])
        assert store.count() == 1 and store.get(rec.id).version == 1

    def test_tasks_and_edges_land_with_the_ops_or_not_at_all(self, store: Any) -> None:
        base = add(store, mem(id="base"))
        task = NewTask("what did we learn?", NS_A, {"run": 1}, id="task:1")
        edges = [
            Edge("task:1", "run-1", EdgeType.RELATES_TO, NodeKind.TASK, namespace=NS_A),
            Edge("task:1", "base", EdgeType.RELATES_TO, NodeKind.TASK, weight=-1.0),
        ]
        before = snapshot(store)
        with pytest.raises(VersionConflictError):
            store.apply(
                [AddOp(mem("run 1", id="run-1")), UpdateOp("base", 9, utility=1.0)],
                tasks=[task],
                edges=edges,
            )
        assert snapshot(store) == before and "task:1" not in graph_view(store)
        out = store.apply(
            [AddOp(mem("run 1", id="run-1")), CreditOp("base", -1.0)], tasks=[task], edges=edges
        )
        assert [r.id for r in out] == ["run-1", "base"] and out[1].utility == base.utility - 1
        assert graph_view(store).nodes["task:1"]["text"] == "what did we learn?"
        found = {(e.dst, e.weight) for e in store.edges(nodes=["task:1"])}
        assert found == {("run-1", 1.0), ("base", -1.0)}
        with pytest.raises(InvalidRecordError, match="task:1"):  # ids are unique
            store.apply([AddOp(mem("run 2"))], tasks=[task])
        with pytest.raises(InvalidRecordError, match="repeat"):
            store.apply([], tasks=[NewTask("a", NS_A, id="task:2")] * 2)
        with pytest.raises(InvalidInputError, match="NewTask"):
            store.apply([], tasks=["not a task"])
        with pytest.raises(InvalidInputError, match="Edge"):
            store.apply([AddOp(mem("run 3"))], edges=[("a", "b")])
        assert store.count() == 2 and len(store.edges(nodes=["task:1"])) == 2

    def test_import_of_an_empty_table_is_a_no_op(self, store: Any) -> None:
        assert store.import_arrow(store.export_arrow()) == 0
        assert store.count(Filter(include_superseded=True)) == 0

    @pytest.mark.parametrize(
        "failing",
        [
            UpdateOp("base", 7, text="stale"),
            DeleteOp("missing"),
            AddOp(NewMemory(NS_A, "dup", id="base")),
            AddOp(NewMemory(NS_A, "")),
        ],
        ids=["conflict", "not-found", "duplicate-id", "invalid"],
    )
    def test_failing_batch_writes_nothing(self, store: Any, failing: Any) -> None:
        add(store, mem(id="base", entities=("Ana",)))
        before = snapshot(store)
        history = store.history("base")
        with pytest.raises((VersionConflictError, MemoryNotFoundError, InvalidRecordError)):
            store.apply(
                [
                    AddOp(mem("first of batch", entities=("Zed",))),
                    UpdateOp("base", 1, text="changed", entities=("Bea",)),
                    failing,
                ]
            )
        assert snapshot(store) == before
        assert store.get("base").version == 1 and store.history("base") == history
        assert store.edges(nodes=["entity:zed", "entity:bea"]) == []

    # -- validation ------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"text": 123}, "text"),
            ({"text": ""}, "text"),
            ({"text": " \n\t "}, "text"),
            ({"text": "x" * 100_001}, "text"),
            ({"text": "a\x00b"}, "text"),
            ({"metadata": {"a": object()}}, "metadata"),
            ({"metadata": {1: "int key"}}, "metadata"),
            ({"metadata": {"a": {2: "nested int key"}}}, "metadata"),
            ({"metadata": {"a": float("nan")}}, "metadata"),
            ({"metadata": ["not", "a", "dict"]}, "metadata"),
            ({"embedding": np.zeros((2, 2))}, "embedding"),
            ({"embedding": np.array([1.0, np.nan])}, "embedding"),
            ({"embedding": [np.inf]}, "embedding"),
            ({"embedding": np.array([1e300])}, "embedding"),
            ({"embedding": []}, "embedding"),
            ({"embedding": "abc"}, "embedding"),
            ({"trust": 1.5}, "trust"),
            ({"trust": -0.1}, "trust"),
            ({"trust": float("nan")}, "trust"),
            ({"utility": float("inf")}, "utility"),
            ({"valid_from": T0, "valid_to": T0 - timedelta(seconds=1)}, "valid_from"),
            ({"valid_from": "2024-05-01"}, "valid_from"),
            ({"tier": "bogus"}, "tier"),
            ({"entities": ("",)}, "entities"),
            ({"entities": "Ana"}, "entities"),
            ({"provenance": (3,)}, "provenance"),
            ({"author": ""}, "author"),
            ({"id": ""}, "id"),
        ],
        ids=lambda v: v if isinstance(v, str) else None,
    )
    def test_bad_record_is_refused_and_store_unchanged(
        self, store: Any, kwargs: dict[str, Any], field: str
    ) -> None:
        add(store, mem("already here"))
        before = snapshot(store)
        base = {"namespace": NS_A, "text": "fine"}
        with pytest.raises(InvalidRecordError, match=field) as info:
            store.apply([AddOp(mem("ok first")), AddOp(NewMemory(**{**base, **kwargs}))])
        assert len(str(info.value)) < 400  # offending values are truncated
        assert snapshot(store) == before

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"text": ""},
            {"metadata": {"a": {1, 2}}},
            {"embedding": [np.nan]},
            {"trust": 2.0},
            {"entities": ("",)},
            {"valid_to": T0 - timedelta(days=400)},
        ],
    )
    def test_bad_update_is_refused_and_store_unchanged(
        self, store: Any, kwargs: dict[str, Any]
    ) -> None:
        rec = add(store, mem(valid_from=T0 - timedelta(days=1)))
        before = snapshot(store)
        with pytest.raises(InvalidRecordError):
            update(store, UpdateOp(rec.id, 1, **kwargs))
        assert snapshot(store) == before and store.get(rec.id) == rec

    @pytest.mark.parametrize("ns", [(), ("team", "a b"), "team/a", ("team", ""), ("x",) * 17])
    def test_bad_namespace_is_refused(self, store: Any, ns: Any) -> None:
        with pytest.raises(InvalidNamespaceError):
            add(store, NewMemory(namespace=ns, text="t"))
        with pytest.raises(InvalidInputError):
            store.scan(Filter(namespace_prefix=("a b",)))
        assert store.count() == 0

    def test_bad_change_info_and_ops_are_refused(self, store: Any) -> None:
        with pytest.raises(InvalidInputError):
            store.apply([AddOp(mem(), ChangeInfo(actor=""))])
        with pytest.raises(InvalidInputError):
            store.apply(["not an op"])
        assert store.count() == 0 and store.apply([]) == []

    # -- namespaces and filters ------------------------------------------------------------

    def test_namespace_prefix_never_leaks_a_sibling(self, store: Any) -> None:
        for ns in [("team", "a"), ("team", "a", "x"), ("team", "ab"), ("team", "a_"), ("t", "abc")]:
            add(store, mem(f"in {'/'.join(ns)}", ns))

        def texts(prefix: tuple[str, ...]) -> set[str]:
            return {r.text for r in store.scan(Filter(namespace_prefix=prefix))}

        assert texts(("team", "a")) == {"in team/a", "in team/a/x"}
        assert texts(("team", "ab")) == {"in team/ab"}
        assert texts(("team", "a_")) == {"in team/a_"}  # "_" is no wildcard
        assert texts(("t", "a_c")) == set()
        assert texts(("team",)) == {"in team/a", "in team/a/x", "in team/ab", "in team/a_"}
        assert store.count(Filter(namespace_prefix=("team", "a"))) == 2
        assert len(texts(())) == 5

    def test_list_namespaces(self, store: Any) -> None:
        for ns in [("b", "x"), ("a", "y", "z"), ("a", "y"), ("a-b",), ("a", "q"), ("gone", "1")]:
            rec = add(store, mem("t", ns))
        delete(store, rec.id)  # ("gone", "1") has no live memory left
        assert store.list_namespaces() == [
            ("a", "q"),
            ("a", "y"),
            ("a", "y", "z"),
            ("a-b",),
            ("b", "x"),
        ]
        assert store.list_namespaces(("a",)) == [("a", "q"), ("a", "y"), ("a", "y", "z")]
        assert store.list_namespaces(max_depth=1) == [("a",), ("a-b",), ("b",)]
        assert store.list_namespaces(("a",), max_depth=2) == [("a", "q"), ("a", "y")]
        assert store.list_namespaces(limit=2, offset=1) == [("a", "y"), ("a", "y", "z")]
        assert store.list_namespaces(("a", "y", "z", "w")) == []
        with pytest.raises(InvalidInputError):
            store.list_namespaces(max_depth=0)

    def test_filter_tiers_and_authors(self, store: Any) -> None:
        add(store, mem("event", tier=Tier.INTERACTION, author="ana"))
        add(store, mem("fact", tier=Tier.SEMANTIC, author="bo"))
        add(store, mem("lesson", tier=Tier.INSIGHT, author="ana"))

        def texts(flt: Filter) -> list[str]:
            return [r.text for r in store.scan(flt)]

        assert texts(Filter(tiers=(Tier.SEMANTIC, Tier.INSIGHT))) == ["fact", "lesson"]
        assert texts(Filter(tiers=())) == []
        assert texts(Filter(authors=("ana",))) == ["event", "lesson"]
        assert texts(Filter(authors=("ana",), tiers=(Tier.INSIGHT,))) == ["lesson"]
        with pytest.raises(InvalidInputError):
            store.scan(Filter(tiers=("nope",)))  # type: ignore[arg-type]

    def test_filter_since_until_use_valid_from_else_recorded_at(self, store: Any) -> None:
        add(store, mem("old", valid_from=T0 - timedelta(days=30)))
        add(store, mem("mid", valid_from=T0))
        add(store, mem("undated"))  # recorded now: after T0
        assert [r.text for r in store.scan(Filter(since=T0))] == ["mid", "undated"]
        assert [r.text for r in store.scan(Filter(until=T0))] == ["old", "mid"]
        naive = T0.replace(tzinfo=None)
        assert [r.text for r in store.scan(Filter(since=naive, until=naive))] == ["mid"]

    def test_filter_as_of_and_include_superseded(self, store: Any) -> None:
        a = add(store, mem("a1"))
        b = add(store, mem("b1"))
        a2 = update(store, UpdateOp(a.id, 1, text="a2"))
        delete(store, b.id)
        assert [r.text for r in store.scan()] == ["a2"]
        assert [r.text for r in store.scan(Filter(as_of=b.recorded_at))] == ["a1", "b1"]
        assert [r.text for r in store.scan(Filter(as_of=a.recorded_at))] == ["a1"]
        assert [r.text for r in store.scan(Filter(include_superseded=True))] == ["a1", "b1", "a2"]
        flt = Filter(include_superseded=True, as_of=a2.recorded_at - timedelta(microseconds=1))
        assert [r.text for r in store.scan(flt)] == ["a1", "b1"]
        assert store.count(Filter(as_of=T0)) == 0

    def test_filter_metadata_exact_top_level(self, store: Any) -> None:
        add(store, mem("s", metadata={"kind": "x", "n": 1, "ok": True, "none": None}))
        add(store, mem("t", metadata={"kind": "1", "n": 1.5, "ok": False, "list": [1, 2]}))
        add(store, mem("u", metadata={"a/b": "slash", "til~de": "t", "q'\"": "quote"}))

        def texts(**md: Any) -> list[str]:
            return [r.text for r in store.scan(Filter(metadata=md))]

        assert texts(kind="x") == ["s"] and texts(kind="1") == ["t"]
        assert texts(n=1) == ["s"] and texts(n=1.5) == ["t"]
        assert texts(ok=True) == ["s"] and texts(ok=False) == ["t"]
        assert texts(none=None) == ["s"] and texts(list=[1, 2]) == ["t"]
        assert texts(kind="x", n=1) == ["s"] and texts(kind="x", n=2) == []
        assert texts(**{"a/b": "slash"}) == ["u"] and texts(**{"til~de": "t"}) == ["u"]
        assert texts(**{"q'\"": "quote"}) == ["u"] and texts(missing="x") == []

    def test_scan_pages_in_a_stable_order(self, store: Any) -> None:
        recs = store.apply([AddOp(mem(f"f{i:02d}")) for i in range(25)])
        pages = [store.scan(limit=10, offset=o) for o in (0, 10, 20)]
        assert [len(p) for p in pages] == [10, 10, 5]
        assert [r.id for p in pages for r in p] == [r.id for r in recs]
        assert store.scan(limit=0) == [] and len(store.scan(offset=24)) == 1
        with pytest.raises(InvalidInputError):
            store.scan(limit=-1)
        with pytest.raises(InvalidInputError):
            store.scan(offset=-1)

    def test_scan_embeddings_only_when_asked(self, store: Any) -> None:
        add(store, mem(embedding=np.ones(3)))
        assert store.scan()[0].embedding is None
        (rec,) = store.scan(with_embeddings=True)
        assert rec.embedding is not None and rec.embedding.tolist() == [1.0, 1.0, 1.0]

    # -- bulk I/O --------------------------------------------------------------------------

    def _populate(self, store: Any) -> list[Any]:
        a = add(store, mem("a", entities=("Ana",), embedding=np.ones(4), metadata={"k": 1}))
        b = add(store, mem("b", ("team", "b"), valid_from=T0, provenance=("D1:1",)))
        update(store, UpdateOp(a.id, 1, text="a2"))
        delete(store, b.id)
        c = add(store, mem("c", tier=Tier.INSIGHT, utility=2.5, trust=0.25))
        return [a, b, c]

    def test_export_arrow_matches_the_schema_and_filters(self, store: Any) -> None:
        from memory._duckdb import ARROW_SCHEMA

        self._populate(store)
        assert store.export_arrow().schema == ARROW_SCHEMA
        assert store.export_arrow()["text"].to_pylist() == ["a2", "c"]
        assert store.export_arrow(all_versions=True).num_rows == 5  # 2 + 2 + 1
        assert store.export_arrow(Filter(namespace_prefix=("team", "b")), all_versions=True)[
            "deleted"
        ].to_pylist() == [False, True]

    def test_export_arrow_unordered_keeps_the_order_rows_were_written_in(self, store: Any) -> None:
        # An import written with ids in falling order and one recording time: sorted, rows
        # come back by id; unordered, as they were written, through an update (which
        # changes its old version in place) and an erasure (which rewrites a file store and
        # checkpoints an in-memory one, renumbering rowids either way).
        ids = [f"note-{c}" for c in "fedcba"]
        store.import_arrow(pa.table({"id": ids, "namespace": ["team/a"] * 6, "text": ids}))
        later = add(store, mem("later", ("team", "a")))
        update(store, UpdateOp("note-c", 1, text="note-c, again"))
        add(store, mem("gone", ("team", "gone")))
        store.erase(("team", "gone"))
        unordered = store.export_arrow(all_versions=True, ordered=False)
        rows = zip(unordered["id"].to_pylist(), unordered["version"].to_pylist(), strict=True)
        assert [*rows] == [
            *((i, 1) for i in ids),
            (later.id, 1),
            ("note-c", 2),
        ]
        assert store.export_arrow(all_versions=True)["id"].to_pylist()[:6] == sorted(ids)
        assert unordered.sort_by([("id", "ascending"), ("version", "ascending")]).equals(
            store.export_arrow(all_versions=True).sort_by(
                [("id", "ascending"), ("version", "ascending")]
            )
        )

    def test_arrow_round_trip_restores_every_version(self, backend: Backend, store: Any) -> None:
        a, b, _ = self._populate(store)
        table = store.export_arrow(all_versions=True)
        target = backend.fresh()
        try:
            assert target.import_arrow(table, actor="restore") == 5
            assert target.export_arrow(all_versions=True).equals(table)
            assert target.versions(a.id) == store.versions(a.id)
            assert target.get(a.id, as_of=a.recorded_at).text == "a"
            with pytest.raises(MemoryNotFoundError):
                target.get(b.id)
            assert {h.actor for h in target.history(a.id)} == {"restore"}
            assert [e.dst for e in target.edges(nodes=[a.id])] == ["entity:ana"]
            later = add(target, mem("after import"))
            assert later.recorded_at > max(r.recorded_at for r in target.versions(a.id))
        finally:
            target.close()

    def test_import_minimal_table_fills_defaults(self, store: Any) -> None:
        table = pa.table(
            {
                "namespace": ["team/a", "team/b"],
                "text": ["one", "two"],
                "entities": [["Ana", " ana "], None],
                "embedding": pa.array([[1.0, 2.0], None], pa.list_(pa.float64())),
                "recorded_at": pa.array([T0.replace(tzinfo=None), None], pa.timestamp("ns")),
            }
        )
        assert store.import_arrow(table, actor="loader") == 2
        one, two = sorted(store.scan(with_embeddings=True), key=lambda r: r.text)
        assert one.namespace == NS_A and one.version == 1 and one.author == "loader"
        assert one.recorded_at == T0 and one.tier is Tier.SEMANTIC and one.metadata == {}
        assert one.embedding is not None and one.embedding.tolist() == [1.0, 2.0]
        assert two.entities == () and two.embedding is None and two.trust == 1.0
        assert len(one.id) == 32 and one.id != two.id
        assert [e.dst for e in store.edges(nodes=[one.id])] == ["entity:ana"]
        assert store.history(one.id)[0].operation is Operation.ADD

    @pytest.mark.parametrize(
        ("columns", "needle"),
        [
            ({"namespace": ["a"], "text": ["t"], "bogus": [1]}, "bogus"),
            ({"namespace": ["a"]}, "text"),
            ({"namespace": ["a"], "text": [1]}, "text"),
            ({"namespace": ["a"], "text": [None]}, "text"),
            ({"namespace": ["a"], "text": ["  "]}, "text"),
            ({"namespace": ["a"], "text": ["x\x00y"]}, "text"),
            ({"namespace": ["a"], "text": ["x" * 100_001]}, "text"),
            ({"namespace": ["a b"], "text": ["t"]}, "namespace"),
            ({"namespace": ["a//b"], "text": ["t"]}, "namespace"),
            ({"namespace": ["a"], "text": ["t"], "tier": ["bogus"]}, "tier"),
            ({"namespace": ["a"], "text": ["t"], "trust": [2.0]}, "trust"),
            ({"namespace": ["a"], "text": ["t"], "metadata": ["[1]"]}, "metadata"),
            ({"namespace": ["a"], "text": ["t"], "metadata": ["{bad"]}, "metadata"),
            ({"namespace": ["a"], "text": ["t"], "version": [0]}, "version"),
            ({"namespace": ["a"], "text": ["t"], "entities": [[""]]}, "entities"),
            ({"namespace": ["a"], "text": ["t"], "embedding": [[1.0, float("nan")]]}, "embedding"),
            ({"namespace": ["a"], "text": ["t"], "embedding": [[]]}, "embedding"),
            ({"namespace": ["a", "a"], "text": ["t", "u"], "id": ["x", "x"]}, "repeats"),
            ({"namespace": ["a"], "text": ["t"], "id": ["base"]}, "already"),
            (
                {
                    "namespace": ["a"],
                    "text": ["t"],
                    "valid_from": pa.array([T0], pa.timestamp("us", tz="UTC")),
                    "valid_to": pa.array([T0 - timedelta(days=1)], pa.timestamp("us", tz="UTC")),
                },
                "valid_to",
            ),
        ],
    )
    def test_import_refuses_bad_tables(
        self, store: Any, columns: dict[str, Any], needle: str
    ) -> None:
        add(store, mem(id="base"))
        before = snapshot(store)
        with pytest.raises(InvalidRecordError, match=needle):
            store.import_arrow(pa.table(columns))
        assert snapshot(store) == before
        with pytest.raises(InvalidRecordError):
            store.import_arrow({"namespace": ["a"], "text": ["t"]})

    def test_parquet_round_trip(self, backend: Backend, store: Any, tmp_path: Path) -> None:
        self._populate(store)
        path = tmp_path / "memories.parquet"
        assert store.export_parquet(path) == 2
        target = backend.fresh()
        try:
            assert target.import_parquet(path) == 2
            assert target.export_arrow().equals(store.export_arrow())
        finally:
            target.close()
        with pytest.raises(InvalidInputError):
            store.import_parquet(tmp_path / "missing.parquet")

    # -- edges and graph views -------------------------------------------------------------

    def test_entities_become_mentions_edges(self, store: Any) -> None:
        a = add(store, mem(entities=("Ana  Lopez", "Lisbon", "ana lopez")))
        edges = store.edges(nodes=[a.id])
        assert sorted(e.dst for e in edges) == ["entity:ana lopez", "entity:lisbon"]
        assert all(e.type is EdgeType.MENTIONS and e.dst_kind is NodeKind.ENTITY for e in edges)
        assert all(e.namespace == NS_A for e in edges)
        a2 = update(store, UpdateOp(a.id, 1, entities=("Lisbon", "Porto")))
        live = store.edges(nodes=[a.id], as_of=a2.recorded_at)
        assert sorted(e.dst for e in live) == ["entity:lisbon", "entity:porto"]
        earlier = store.edges(nodes=[a.id], as_of=a.recorded_at)
        assert sorted(e.dst for e in earlier) == ["entity:ana lopez", "entity:lisbon"]

    def test_add_edges_and_query_them(self, store: Any) -> None:
        a, b = add(store, mem("a")), add(store, mem("b"))
        n = store.add_edges(
            [
                Edge(b.id, a.id, EdgeType.SUPERSEDES, weight=0.5, namespace=NS_A),
                Edge(
                    a.id,
                    "event-1",
                    EdgeType.DERIVED_FROM,
                    valid_from=T0,
                    valid_to=T0 + timedelta(days=1),
                ),
            ]
        )
        assert n == 2 and store.add_edges([]) == 0
        assert [e.type for e in store.edges(types=[EdgeType.SUPERSEDES])] == [EdgeType.SUPERSEDES]
        assert store.edges(types=[EdgeType.SUPERSEDES])[0].weight == 0.5
        assert len(store.edges(nodes=["event-1"])) == 1
        assert store.edges(nodes=["event-1"], as_of=T0 + timedelta(days=2)) == []
        assert store.edges(nodes=["event-1"], as_of=datetime.now(UTC)) == []
        before = snapshot(store)
        for bad in [
            Edge("", a.id, EdgeType.RELATES_TO),
            Edge(a.id, b.id, "bogus"),  # type: ignore[arg-type]
            Edge(a.id, b.id, EdgeType.RELATES_TO, weight=float("nan")),
            Edge(a.id, b.id, EdgeType.RELATES_TO, valid_from=T0, valid_to=T0 - timedelta(1)),
        ]:
            with pytest.raises(InvalidInputError):
                store.add_edges([Edge(a.id, b.id, EdgeType.RELATES_TO), bad])
        assert snapshot(store) == before

    def test_graph_views(self, store: Any) -> None:
        a = add(store, mem("Ana lives in Lisbon", entities=("Ana", "Lisbon")))
        b = add(store, mem("Lisbon is in Portugal", entities=("Lisbon", "Portugal")))
        c = add(store, mem("Ana likes Porto", ("team", "ab"), entities=("Ana", "Porto")))
        task = store.add_task("Where does Ana live?", NS_A)
        store.add_edges(
            [Edge(task, a.id, EdgeType.RELATES_TO, src_kind=NodeKind.TASK, namespace=NS_A)]
        )
        view = graph_view(store, namespace_prefix=NS_A)
        assert nx.is_frozen(view)
        assert set(view.nodes) == {
            a.id,
            b.id,
            task,
            "entity:ana",
            "entity:lisbon",
            "entity:portugal",
        }
        assert view.nodes[a.id]["kind"] == "memory" and view.nodes[a.id]["tier"] == "semantic"
        assert view.nodes["entity:ana"] == {"kind": "entity", "name": "Ana"}
        assert view.nodes[task]["kind"] == "task"
        (data,) = view.get_edge_data(a.id, "entity:ana").values()
        assert data["type"] == "mentions" and data["weight"] == 1.0 and data["namespace"] == NS_A
        assert c.id in graph_view(store) and c.id not in view
        assert set(k_hop(store, a.id, 1, namespace_prefix=NS_A)) == {
            a.id,
            task,
            "entity:ana",
            "entity:lisbon",
        }
        assert b.id in k_hop(store, a.id, 2, namespace_prefix=NS_A)
        assert set(entity_subgraph(store, " ANA ", namespace_prefix=NS_A)) == {"entity:ana", a.id}
        assert c.id in entity_subgraph(store, "Ana")

    # -- erasure -----------------------------------------------------------------------------

    def test_erase_removes_a_namespace_for_good_and_keeps_the_rest(self, store: Any) -> None:
        ana, notes, anabel = ("user", "ana"), ("user", "ana", "notes"), ("user", "anabel")
        a = add(store, mem("Ana lives in Lisbon", ns=ana, entities=("Ana", "Lisbon")))
        update(store, UpdateOp(a.id, 1, text="Ana moved to Porto", entities=("Ana", "Porto")))
        b = add(store, mem("Ana keeps notes", ns=notes, entities=("Ana",)))
        delete(store, b.id)
        c = add(store, mem("Bob lives in Lisbon", ns=anabel, entities=("Bob", "Lisbon")))
        d = add(store, mem("The team meets on Mondays"))
        task = store.add_task("where does Ana live?", ana)
        store.add_edges(
            [
                Edge(d.id, a.id, EdgeType.RELATES_TO, namespace=NS_A),  # into the erased
                Edge(task, a.id, EdgeType.RELATES_TO, NodeKind.TASK, namespace=ana),
                Edge(c.id, d.id, EdgeType.RELATES_TO, namespace=anabel),
            ]
        )
        kept_edges = [e for e in store.edges() if {e.src, e.dst}.isdisjoint({a.id, b.id, task})]

        erased = store.erase(ana)

        assert (erased.namespace, erased.memories, erased.tasks) == (ana, 2, 1)
        # a: two versions; b: its version and its tombstone; one history row for each.
        assert (erased.versions, erased.history) == (4, 4)
        # a mentions Ana, Lisbon and Porto, b Ana; and the two edges to a.
        assert erased.edges == 3 + 1 + 2 and store.edges() == kept_edges
        assert erased.entities == 2  # "ana" and "porto"; Bob's "lisbon" stays
        for gone in (a.id, b.id):
            with pytest.raises(MemoryNotFoundError):
                store.get(gone)
            with pytest.raises(MemoryNotFoundError):
                store.versions(gone)
            with pytest.raises(MemoryNotFoundError):
                store.history(gone)
        assert store.count(Filter(namespace_prefix=ana, include_superseded=True)) == 0
        assert store.list_namespaces() == [NS_A, anabel]  # "user/anabel" is not under it
        assert not entity_subgraph(store, "Porto") and not entity_subgraph(store, "Ana")
        assert c.id in entity_subgraph(store, "Lisbon")
        assert [r.text for r in store.scan(Filter(include_superseded=True))] == [c.text, d.text]
        assert store.check_integrity() == []
        # The store goes on as before: point reads, updates and adds by rowid.
        assert update(store, UpdateOp(c.id, 1, text="Bob moved")).version == 2
        again = add(store, mem("Ana is back", ns=ana))
        assert store.get(again.id).text == "Ana is back" and store.get(c.id).text == "Bob moved"
        assert [h.new_version for h in store.history(c.id)] == [1, 2]
        assert store.check_integrity() == []

    def test_erase_refuses_an_empty_or_malformed_prefix(self, store: Any) -> None:
        add(store, mem())
        before = snapshot(store)
        with pytest.raises(InvalidNamespaceError):
            store.erase(())
        with pytest.raises(InvalidNamespaceError):
            store.erase(("team", ""))
        assert snapshot(store) == before

    def test_erase_leaves_no_byte_of_it_in_the_files(self, backend: Backend) -> None:
        if backend.path is None:
            pytest.skip("backend has no file")
        folder = backend.path.parent

        def found(secrets: list[str]) -> int:
            data = b"".join(f.read_bytes() for f in folder.iterdir() if f.is_file())
            return sum(secret.encode() in data for secret in secrets)

        store = backend.open()
        secrets = [f"secret-{i:03d}-{i * 7919 % 1000:03d}-q{i * i}" for i in range(40)]
        for secret in secrets:
            add(store, mem(f"Ana's code is {secret}", ns=("user", "ana")))
            add(store, mem(f"The team's note {secret[::-1]}"))
        store.close()
        store = backend.open()  # the rows now in the file, not only in its log
        try:
            assert found(secrets) == len(secrets)  # the test can see them while stored
            store.erase(("user", "ana"))
            assert found(secrets) == 0
            assert store.count() == len(secrets)
        finally:
            store.close()
        assert found(secrets) == 0
        store = backend.open()  # the old log is not replayed onto the rewritten file
        try:
            assert store.count() == len(secrets) and store.list_namespaces() == [NS_A]
            assert store.check_integrity() == []
        finally:
            store.close()

    # -- files, persistence, concurrency ---------------------------------------------------

    def test_reopen_persists_without_rerunning_migrations(self, backend: Backend) -> None:
        if backend.path is None:
            pytest.skip("backend has no file")
        store = backend.open()
        rec = add(store, mem(entities=("Ana",)))
        update(store, UpdateOp(rec.id, 1, text="second"))
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.get(rec.id)
        again = backend.open()
        try:
            assert [r.text for r in again.versions(rec.id)] == [rec.text, "second"]
            assert len(again.history(rec.id)) == 2 and len(again.edges()) == 1
            assert add(again, mem("later")).recorded_at > again.get(rec.id).recorded_at
        finally:
            again.close()

    def test_locked_file_is_refused(self, backend: Backend, store: Any) -> None:
        if backend.path is None or backend.opener is None:
            pytest.skip("backend has no file")
        store.close()
        module, _, attr = backend.opener.partition(":")
        holder = (
            "import importlib, sys\n"
            f"obj = importlib.import_module({module!r})\n"
            f"for part in {attr!r}.split('.'):\n"
            "    obj = getattr(obj, part)\n"
            "store = obj(sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", holder, str(backend.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            with pytest.raises(StoreLockedError) as info:
                backend.open()
            assert str(backend.path) in str(info.value) and "one process" in str(info.value)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)
        backend.open().close()  # usable again once the owner is gone

    def test_corrupt_or_foreign_file_is_refused_and_untouched(
        self, backend: Backend, tmp_path: Path
    ) -> None:
        if backend.open_path is None:
            pytest.skip("backend has no file")
        junk = tmp_path / "junk.duckdb"
        junk.write_bytes(b"this is not a database\n" * 1000)
        with pytest.raises(StoreCorruptError) as info:
            backend.open_path(junk)
        assert str(junk) in str(info.value)
        assert junk.read_bytes() == b"this is not a database\n" * 1000

    def test_concurrent_writers_never_lose_an_update(self, store: Any) -> None:
        rec = add(store, mem("counter"))
        outcomes: list[str] = []
        barrier = threading.Barrier(8)

        def worker(i: int) -> None:
            barrier.wait()
            add(store, mem(f"thread {i}"))
            try:
                update(store, UpdateOp(rec.id, 1, text=f"won by {i}"))
                outcomes.append("ok")
            except VersionConflictError:
                outcomes.append("conflict")
            store.scan(limit=5)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
        assert store.get(rec.id).version == 2 and store.count() == 9
