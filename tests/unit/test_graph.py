"""Graph views built from the store's tables: visibility, time travel, traversal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import networkx as nx
import pytest

from memory._duckdb import DuckDBStore
from memory._graph import GraphSource, entity_subgraph, graph_view, k_hop
from memory._store import add, delete, update
from memory._types import Edge, EdgeType, NewMemory, NodeKind, UpdateOp
from memory.errors import InvalidInputError, MemoryNotFoundError

NS = ("team", "a")


@pytest.fixture
def store() -> Iterator[DuckDBStore]:
    with DuckDBStore.from_path(":memory:") as store:
        yield store


def test_store_is_a_graph_source(store: DuckDBStore) -> None:
    assert isinstance(store, GraphSource)
    with pytest.raises(InvalidInputError, match="graph_arrow"):
        graph_view(object())


def test_views_are_frozen_and_carry_attributes(store: DuckDBStore) -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    a = add(store, NewMemory(NS, "Ana met Bo", entities=("Ana", "Bo")))
    b = add(store, NewMemory(NS, "Bo is a chef"))
    store.add_edges(
        [Edge(b.id, a.id, EdgeType.RELATES_TO, weight=0.3, valid_from=t0, namespace=NS)]
    )
    view = graph_view(store)
    assert nx.is_frozen(view)
    with pytest.raises(nx.NetworkXError):
        view.add_node("x")
    assert view.nodes[a.id] == {
        "kind": "memory",
        "text": "Ana met Bo",
        "namespace": NS,
        "tier": "semantic",
    }
    (data,) = view.get_edge_data(b.id, a.id).values()
    assert data["type"] == "relates_to" and data["weight"] == 0.3
    assert data["valid_from"] == t0 and data["valid_to"] is None
    assert data["created_at"].tzinfo is not None
    assert view.number_of_edges() == 3  # two mentions + relates_to


def test_isolated_memories_are_nodes(store: DuckDBStore) -> None:
    a = add(store, NewMemory(NS, "alone"))
    assert list(graph_view(store).nodes) == [a.id]


def test_deleted_and_superseded_state_follows_as_of(store: DuckDBStore) -> None:
    a = add(store, NewMemory(NS, "Ana lives in Lisbon", entities=("Ana", "Lisbon")))
    a2 = update(store, UpdateOp(a.id, 1, text="Ana lives in Porto", entities=("Ana", "Porto")))
    now_view = graph_view(store)
    assert set(now_view) == {a.id, "entity:ana", "entity:porto"}
    assert now_view.nodes[a.id]["text"] == "Ana lives in Porto"
    then = graph_view(store, as_of=a.recorded_at)
    assert set(then) == {a.id, "entity:ana", "entity:lisbon"}
    assert then.nodes[a.id]["text"] == "Ana lives in Lisbon"
    tomb = delete(store, a.id)
    assert graph_view(store).number_of_nodes() == 0
    assert set(graph_view(store, as_of=tomb.recorded_at - timedelta(microseconds=1))) == set(
        now_view
    )
    assert a2.version == 2


def test_namespace_views_hide_siblings_edges_and_entities(store: DuckDBStore) -> None:
    a = add(store, NewMemory(("team", "a"), "Ana in a", entities=("Ana",)))
    ab = add(store, NewMemory(("team", "ab"), "Secret in ab", entities=("Secret",)))
    store.add_edges(
        [
            Edge(a.id, ab.id, EdgeType.RELATES_TO, namespace=("team", "a")),
            Edge(
                "entity:ana", "entity:secret", EdgeType.RELATES_TO, NodeKind.ENTITY, NodeKind.ENTITY
            ),
        ]
    )
    view = graph_view(store, namespace_prefix=("team", "a"))
    assert set(view) == {a.id, "entity:ana"}  # cross-namespace and global edges stay hidden
    assert "entity:secret" in graph_view(store)
    assert entity_subgraph(store, "Secret", namespace_prefix=("team", "a")).number_of_nodes() == 0
    with pytest.raises(MemoryNotFoundError):
        k_hop(store, ab.id, namespace_prefix=("team", "a"))


def test_k_hop_depth_direction_and_types(store: DuckDBStore) -> None:
    ids = [add(store, NewMemory(NS, f"m{i}")).id for i in range(5)]
    store.add_edges(
        [Edge(ids[i], ids[i + 1], EdgeType.DERIVED_FROM, namespace=NS) for i in range(4)]
    )
    store.add_edges([Edge(ids[0], ids[4], EdgeType.SUPERSEDES, namespace=NS)])
    assert set(k_hop(store, ids[2], 0)) == {ids[2]}
    assert set(k_hop(store, ids[2], 1)) == {ids[1], ids[2], ids[3]}
    assert set(k_hop(store, ids[2], 1, direction="out")) == {ids[2], ids[3]}
    assert set(k_hop(store, ids[2], 2, direction="in")) == {ids[0], ids[1], ids[2]}
    two = k_hop(store, ids[2], 2)
    assert set(two) == set(ids)  # ids[4] via m3 and m0 via m1
    assert two.number_of_edges() == 5  # induced: the supersedes edge m0 -> m4 is kept
    only = k_hop(store, ids[0], 5, types=[EdgeType.SUPERSEDES])
    assert set(only) == {ids[0], ids[4]}
    with pytest.raises(InvalidInputError):
        k_hop(store, ids[0], -1)
    with pytest.raises(InvalidInputError):
        k_hop(store, ids[0], 1, direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(MemoryNotFoundError, match="nope"):
        k_hop(store, "nope")


def test_entity_subgraph(store: DuckDBStore) -> None:
    a = add(store, NewMemory(NS, "Ana met Bo", entities=("Ana", "Bo")))
    b = add(store, NewMemory(NS, "Bo cooks", entities=("Bo",)))
    c = add(store, NewMemory(NS, "Cy sings", entities=("Cy",)))
    one = entity_subgraph(store, "  ana ")
    assert set(one) == {"entity:ana", a.id}
    assert set(entity_subgraph(store, "Ana", k=3)) == {"entity:ana", a.id, "entity:bo", b.id}
    assert c.id not in entity_subgraph(store, "Ana", k=3)
    assert entity_subgraph(store, "Nobody").number_of_nodes() == 0
    assert nx.is_frozen(entity_subgraph(store, "Nobody"))
    with pytest.raises(InvalidInputError):
        entity_subgraph(store, " ")


def test_task_nodes_respect_namespace_and_time(store: DuckDBStore) -> None:
    a = add(store, NewMemory(NS, "answer"))
    before = datetime.now(UTC)
    task = store.add_task("question?", NS, metadata={"run": 1})
    store.add_edges([Edge(task, a.id, EdgeType.RELATES_TO, NodeKind.TASK, namespace=NS)])
    assert graph_view(store).nodes[task] == {"kind": "task", "text": "question?", "namespace": NS}
    assert task not in graph_view(store, namespace_prefix=("team", "b"))
    assert task not in graph_view(store, as_of=before)
    assert set(k_hop(store, task, 1)) == {task, a.id}
