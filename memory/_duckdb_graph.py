"""Node and edge tables of the memory graph, read from DuckDB as Arrow (no per-row Python).

Visibility rules, shared by every view:

- memory nodes are the memories visible at ``as_of`` (current when None), deleted ones
  excluded, under the namespace prefix; task nodes are tasks under the prefix created by then;
- an edge is visible when it existed and was valid at ``as_of`` (now when None), its own
  namespace is under the prefix (an edge with the empty namespace only in a global view),
  and each memory / task endpoint is a visible node; so a prefix never leaks a sibling's edges;
- entities are a shared vocabulary: an entity is a node only when a visible edge touches it,
  so a view never reveals which entities other namespaces mention.

Around given nodes, edges and memories are read by rowid (found through the store's rowid
maps, :mod:`memory._duckdb_rowids`) and filtered in Arrow, so a walk costs milliseconds on a
million-row store, not a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from memory._duckdb_rowids import RowidMaps, at_rowids
from memory._duckdb_sql import prefix_sql, visible_sql
from memory._namespace import Namespace, join_namespace

EDGE_COLUMNS = (
    "src, src_kind, dst, dst_kind, type, weight, valid_from, valid_to, namespace, created_at"
)
_IN = "IN (SELECT unnest(?::VARCHAR[]))"
_NODE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("kind", pa.string()),
        ("tier", pa.string()),
        ("text", pa.string()),
        ("namespace", pa.string()),
        ("name", pa.string()),
    ]
)


def _edge_filter(
    prefix: Namespace, at: datetime, types: Sequence[str] | None
) -> tuple[str, list[object]]:
    where = (
        "created_at <= ? AND (valid_from IS NULL OR valid_from <= ?) "
        "AND (valid_to IS NULL OR valid_to > ?)"
    )
    params: list[object] = [at, at, at]
    if prefix:
        ns, ns_params = prefix_sql(prefix)
        where += f" AND {ns}"
        params += ns_params
    if types is not None:
        where += " AND list_contains(?::VARCHAR[], type)"
        params.append(list(types))
    return where, params


def _candidate_edges(
    cur: duckdb.DuckDBPyConnection,
    maps: RowidMaps,
    prefix: Namespace,
    at: datetime,
    types: Sequence[str] | None,
    wanted: list[str] | None,
    within: bool,
) -> pa.Table:
    if wanted is None:
        where, params = _edge_filter(prefix, at, types)
        sql = f"SELECT {EDGE_COLUMNS} FROM edges WHERE {where} ORDER BY created_at, src, dst"
        return cur.execute(sql, params).to_arrow_table()
    # The rowid read is a bare semi-join, the rest is filtered here (it also drops rows whose
    # key only shares a hash with a wanted one).
    keys = pa.array(wanted, pa.string())
    # Rowid -1 selects nothing yet still returns the table's typed columns.
    where, params = at_rowids(maps.edges(wanted, dst=not within) or [-1])
    found = cur.execute(f"SELECT {EDGE_COLUMNS} FROM edges WHERE {where}", params)
    found = found.to_arrow_table()
    from_wanted = pc.is_in(found["src"], value_set=keys)
    to_wanted = pc.is_in(found["dst"], value_set=keys)
    touching = pc.and_(from_wanted, to_wanted) if within else pc.or_(from_wanted, to_wanted)
    found = found.filter(pc.and_(touching, _edge_mask(found, prefix, at, types)))
    return found.sort_by([("created_at", "ascending"), ("src", "ascending"), ("dst", "ascending")])


def _edge_mask(
    edges: pa.Table, prefix: Namespace, at: datetime, types: Sequence[str] | None
) -> pa.ChunkedArray:
    """The Arrow twin of :func:`_edge_filter`."""
    when = pa.scalar(at, pa.timestamp("us"))
    mask = pc.and_(
        pc.less_equal(edges["created_at"], when),
        pc.and_(
            pc.fill_null(pc.less_equal(edges["valid_from"], when), True),
            pc.fill_null(pc.greater(edges["valid_to"], when), True),
        ),
    )
    if prefix:
        mask = pc.and_(mask, _under(edges["namespace"], prefix))
    if types is not None:
        mask = pc.and_(mask, pc.is_in(edges["type"], value_set=pa.array(list(types), pa.string())))
    return mask


def _under(namespaces: pa.ChunkedArray, prefix: Namespace) -> pa.ChunkedArray:
    """Namespace ``prefix`` or below it (the Arrow twin of ``prefix_sql``)."""
    joined = join_namespace(prefix)
    return pc.or_(pc.equal(namespaces, joined), pc.starts_with(namespaces, pattern=joined + "/"))


def _ends(edges: pa.Table, kind: str) -> pa.Array:
    """Distinct endpoint ids of the given node kind."""
    parts = [
        pc.filter(edges[end], pc.equal(edges[f"{end}_kind"], kind)).combine_chunks()
        for end in ("src", "dst")
    ]
    return pc.unique(pa.concat_arrays([p.cast(pa.string()) for p in parts]))


def graph_tables(
    cur: duckdb.DuckDBPyConnection,
    maps: RowidMaps,
    *,
    prefix: Namespace,
    as_of: datetime | None,
    now: datetime,
    types: Sequence[str] | None,
    nodes: Sequence[str] | None,
    within: bool,
) -> tuple[pa.Table, pa.Table]:
    """Visible ``(nodes, edges)``; times are naive UTC. ``maps`` are the store's rowid maps.

    ``nodes`` restricts the result to edges touching those node ids (``within=False``) or
    joining two of them (``within=True``), and nodes to those ids and the edges' endpoints.
    The node table has columns id, kind, tier, text, namespace, name; the edge table the
    columns of the ``edges`` table.
    """
    at = now if as_of is None else as_of
    wanted = None if nodes is None else list(dict.fromkeys(nodes))
    edges = _candidate_edges(cur, maps, prefix, at, types, wanted, within)

    ns, ns_params = prefix_sql(prefix)
    task_sql = f"SELECT id, text, namespace FROM tasks WHERE created_at <= ? AND {ns}"
    task_args: list[object] = [at, *ns_params]
    if wanted is None:
        vis, vis_params = visible_sql(as_of)
        memories = cur.execute(
            f"SELECT id, tier, text, namespace FROM memories WHERE {vis} AND {ns}",
            [*vis_params, *ns_params],
        ).to_arrow_table()
    else:
        ask = list(dict.fromkeys([*wanted, *_ends(edges, "memory").to_pylist()]))
        memories = _visible_memories(cur, maps, ask, prefix, as_of)
        extra = [*wanted, *_ends(edges, "task").to_pylist()]
        task_sql += f" AND id {_IN}"
        task_args.append(list(dict.fromkeys(extra)))
    tasks = cur.execute(task_sql, task_args).to_arrow_table()

    keep = pc.and_(
        _visible_end(edges, "src", memories["id"], tasks["id"]),
        _visible_end(edges, "dst", memories["id"], tasks["id"]),
    )
    edges = edges.filter(keep)
    if within and wanted is not None:
        entity_nodes = [n for n in wanted if n.startswith("entity:")]
    else:
        entity_nodes = _ends(edges, "entity").to_pylist()
    entities = cur.execute(
        f"SELECT 'entity:' || id AS id, name FROM entities WHERE id {_IN}",
        [[n.removeprefix("entity:") for n in entity_nodes]],
    ).to_arrow_table()

    if wanted is not None and not within:
        shown = pa.array(
            list(dict.fromkeys([*wanted, *edges["src"].to_pylist(), *edges["dst"].to_pylist()])),
            pa.string(),
        )
        memories = memories.filter(pc.is_in(memories["id"], value_set=shown))
        tasks = tasks.filter(pc.is_in(tasks["id"], value_set=shown))
    return _nodes(memories, tasks, entities), edges


def _visible_memories(
    cur: duckdb.DuckDBPyConnection,
    maps: RowidMaps,
    ids: list[str],
    prefix: Namespace,
    as_of: datetime | None,
) -> pa.Table:
    """The visible rows among ``ids``: every version read by rowid, filtered here."""
    where, params = at_rowids(maps.memories(ids) or [-1])
    rows = cur.execute(
        "SELECT id, tier, text, namespace, recorded_at, superseded_at, deleted FROM memories "
        f"WHERE {where}",
        params,
    ).to_arrow_table()
    live = pc.and_(
        pc.is_in(rows["id"], value_set=pa.array(ids, pa.string())), pc.invert(rows["deleted"])
    )
    if as_of is None:
        live = pc.and_(live, pc.is_null(rows["superseded_at"]))
    else:
        at = pa.scalar(as_of, pa.timestamp("us"))
        ended = pc.fill_null(pc.less_equal(rows["superseded_at"], at), False)
        live = pc.and_(live, pc.and_(pc.less_equal(rows["recorded_at"], at), pc.invert(ended)))
    if prefix:
        live = pc.and_(live, _under(rows["namespace"], prefix))
    return rows.filter(live).select(["id", "tier", "text", "namespace"])


def _visible_end(
    edges: pa.Table, end: str, memories: pa.ChunkedArray, tasks: pa.ChunkedArray
) -> pa.Array:
    """True where the ``end`` of an edge is not a hidden memory or task."""
    kind = edges[f"{end}_kind"]
    ok_memory = pc.or_(
        pc.not_equal(kind, "memory"), pc.is_in(edges[end], value_set=memories.combine_chunks())
    )
    ok_task = pc.or_(
        pc.not_equal(kind, "task"), pc.is_in(edges[end], value_set=tasks.combine_chunks())
    )
    return pc.and_(ok_memory, ok_task)


def _nodes(memories: pa.Table, tasks: pa.Table, entities: pa.Table) -> pa.Table:
    """One node table with a ``kind`` column."""

    def part(table: pa.Table, kind: str, **columns: pa.ChunkedArray | None) -> pa.Table:
        n = table.num_rows
        arrays = []
        for field in _NODE_SCHEMA:
            if field.name == "kind":
                arrays.append(pa.array([kind] * n, pa.string()))
            else:
                value = columns.get(field.name)
                arrays.append(pa.nulls(n, pa.string()) if value is None else value)
        return pa.Table.from_arrays([a.cast(pa.string()) for a in arrays], schema=_NODE_SCHEMA)

    return pa.concat_tables(
        [
            part(
                memories,
                "memory",
                id=memories["id"],
                tier=memories["tier"],
                text=memories["text"],
                namespace=memories["namespace"],
            ),
            part(tasks, "task", id=tasks["id"], text=tasks["text"], namespace=tasks["namespace"]),
            part(entities, "entity", id=entities["id"], name=entities["name"]),
        ]
    )
