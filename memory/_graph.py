"""Read-only networkx views of the memory graph, built from the store's tables.

The tables stay the source of truth: each call reads the visible nodes and edges (as Arrow,
see :mod:`memory._duckdb_graph` for the visibility rules) and returns a frozen
:class:`networkx.MultiDiGraph`. Node ids are memory ids, ``entity:<normalised name>`` and
task ids. Nodes carry ``kind``, ``tier``, ``text``, ``namespace`` (a tuple) and, for entities,
``name``; edges carry ``type``, ``weight``, ``valid_from``, ``valid_to``, ``namespace`` and
``created_at`` (tz-aware UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

import networkx as nx
import pyarrow as pa
import pyarrow.compute as pc

from memory._checks import entity_node_id, short
from memory._namespace import Namespace, split_namespace
from memory._types import EdgeType
from memory.errors import InvalidInputError, MemoryNotFoundError

Direction = Literal["both", "out", "in"]


@runtime_checkable
class GraphSource(Protocol):
    """A store that hands out its visible graph as Arrow tables (``DuckDBStore`` does)."""

    def graph_arrow(
        self,
        *,
        namespace_prefix: Namespace = (),
        as_of: datetime | None = None,
        types: Sequence[EdgeType] | None = None,
        nodes: Sequence[str] | None = None,
        within: bool = False,
    ) -> tuple[pa.Table, pa.Table]:
        """``(nodes, edges)`` tables of the graph visible under a prefix at a time."""
        ...


def _source(store: object) -> GraphSource:
    if not isinstance(store, GraphSource):
        raise InvalidInputError(
            f"graph views need a store with graph_arrow() (such as DuckDBStore), got {short(store)}"
        )
    return store


def _aware(values: list[Any]) -> list[Any]:
    return [None if v is None else v.replace(tzinfo=UTC) for v in values]


def _build(nodes: pa.Table, edges: pa.Table) -> nx.MultiDiGraph:
    """A frozen MultiDiGraph from node and edge tables (columns converted once, not per cell)."""
    graph: nx.MultiDiGraph = nx.MultiDiGraph()
    # Endpoints first, so a node known only from an edge still has its kind.
    for end in ("src", "dst"):
        graph.add_nodes_from(
            (node, {"kind": kind})
            for node, kind in zip(
                edges[end].to_pylist(), edges[f"{end}_kind"].to_pylist(), strict=True
            )
        )
    cols = {name: nodes[name].to_pylist() for name in nodes.column_names}
    for i, node in enumerate(cols["id"]):
        attrs: dict[str, Any] = {"kind": cols["kind"][i]}
        if cols["kind"][i] == "entity":
            attrs["name"] = cols["name"][i]
        else:
            attrs["text"] = cols["text"][i]
            attrs["namespace"] = split_namespace(cols["namespace"][i])
            if cols["tier"][i] is not None:
                attrs["tier"] = cols["tier"][i]
        graph.add_node(node, **attrs)
    ecols = {name: edges[name].to_pylist() for name in edges.column_names}
    for name in ("valid_from", "valid_to", "created_at"):
        ecols[name] = _aware(ecols[name])
    graph.add_edges_from(
        (
            ecols["src"][i],
            ecols["dst"][i],
            {
                "type": ecols["type"][i],
                "weight": ecols["weight"][i],
                "valid_from": ecols["valid_from"][i],
                "valid_to": ecols["valid_to"][i],
                "namespace": split_namespace(ecols["namespace"][i]),
                "created_at": ecols["created_at"][i],
            },
        )
        for i in range(edges.num_rows)
    )
    return nx.freeze(graph)


def graph_view(
    store: object,
    *,
    namespace_prefix: Namespace = (),
    as_of: datetime | None = None,
    types: Sequence[EdgeType] | None = None,
) -> nx.MultiDiGraph:
    """The whole graph visible under ``namespace_prefix`` at system time ``as_of`` (frozen).

    Every visible memory and task is a node, isolated or not; ``types`` keeps only those
    edge types.
    """
    nodes, edges = _source(store).graph_arrow(
        namespace_prefix=namespace_prefix, as_of=as_of, types=types
    )
    return _build(nodes, edges)


def k_hop(
    store: object,
    node_id: str,
    k: int = 2,
    *,
    namespace_prefix: Namespace = (),
    as_of: datetime | None = None,
    types: Sequence[EdgeType] | None = None,
    direction: Direction = "both",
) -> nx.MultiDiGraph:
    """Nodes within ``k`` hops of ``node_id`` and the edges among them (frozen).

    Hops follow edges in ``direction`` (``"both"`` ignores direction). The graph is walked
    with one query per hop, never loaded whole.

    Raises:
        MemoryNotFoundError: ``node_id`` is not a node of the view.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InvalidInputError(f"k must be a non-negative int, got {short(k)}")
    if direction not in ("both", "out", "in"):
        raise InvalidInputError(f"direction must be 'both', 'out' or 'in', got {direction!r}")
    source = _source(store)
    scope: dict[str, Any] = {"namespace_prefix": namespace_prefix, "as_of": as_of, "types": types}
    start_nodes, start_edges = source.graph_arrow(nodes=[node_id], **scope)
    if node_id not in start_nodes["id"].to_pylist():
        raise MemoryNotFoundError(
            f"no graph node {node_id!r} visible under {namespace_prefix!r}"
            + ("" if as_of is None else f" as of {as_of.isoformat()}")
        )
    seen = {node_id}
    frontier = {node_id}
    edges = start_edges
    for hop in range(k):
        if hop:
            _, edges = source.graph_arrow(nodes=sorted(frontier), **scope)
        reached = _step(edges, frontier, direction)
        frontier = reached - seen
        seen |= frontier
        if not frontier:
            break
    nodes, within = source.graph_arrow(nodes=sorted(seen), within=True, **scope)
    return _build(nodes, within)


def _step(edges: pa.Table, frontier: set[str], direction: Direction) -> set[str]:
    """Node ids one hop from ``frontier`` along ``edges``."""
    if edges.num_rows == 0:
        return set()
    value_set = pa.array(sorted(frontier), pa.string())
    reached: set[str] = set()
    if direction in ("both", "out"):
        mask = pc.is_in(edges["src"], value_set=value_set)
        reached.update(pc.filter(edges["dst"], mask).to_pylist())
    if direction in ("both", "in"):
        mask = pc.is_in(edges["dst"], value_set=value_set)
        reached.update(pc.filter(edges["src"], mask).to_pylist())
    return reached


def entity_subgraph(
    store: object,
    entity_name: str,
    k: int = 1,
    *,
    namespace_prefix: Namespace = (),
    as_of: datetime | None = None,
    types: Sequence[EdgeType] | None = None,
) -> nx.MultiDiGraph:
    """The entity's node, the memories that mention it and their neighbours up to ``k`` hops.

    An entity nobody mentions in the view gives an empty graph ("who mentions X?" has an
    empty answer), unlike :func:`k_hop`, which refuses an unknown node.
    """
    if not isinstance(entity_name, str) or not entity_name.strip():
        raise InvalidInputError(f"entity_name must be a non-empty str, got {short(entity_name)}")
    try:
        return k_hop(
            store,
            entity_node_id(entity_name),
            k,
            namespace_prefix=namespace_prefix,
            as_of=as_of,
            types=types,
        )
    except MemoryNotFoundError:
        return nx.freeze(nx.MultiDiGraph())
