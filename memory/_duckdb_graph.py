"""Node and edge tables of the memory graph, read from DuckDB as Arrow (no per-row Python).

Visibility rules, shared by every view:

- memory nodes are the memories visible at ``as_of`` (current when None), deleted ones
  excluded, under the namespace prefix; task nodes are tasks under the prefix created by then;
- an edge is visible when it existed and was valid at ``as_of`` (now when None), its own
  namespace is under the prefix (an edge with the empty namespace only in a global view),
  and each memory / task endpoint is a visible node; so a prefix never leaks a sibling's edges;
- entities are a shared vocabulary: an entity is a node only when a visible edge touches it,
  so a view never reveals which entities other namespaces mention.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from memory._duckdb_sql import prefix_sql, visible_sql
from memory._namespace import Namespace

EDGE_COLUMNS = (
    "src, src_kind, dst, dst_kind, type, weight, valid_from, valid_to, namespace, created_at"
)


def _cte(prefix: Namespace, as_of: datetime | None, now: datetime) -> tuple[str, list[object]]:
    mem_vis, mem_params = visible_sql(as_of)
    ns, ns_params = prefix_sql(prefix)
    task_at = now if as_of is None else as_of
    sql = (
        f"WITH vm AS (SELECT id, tier, text, namespace FROM memories WHERE {mem_vis} AND {ns}), "
        f"vt AS (SELECT id, text, namespace FROM tasks WHERE created_at <= ? AND {ns}) "
    )
    return sql, [*mem_params, *ns_params, task_at, *ns_params]


def graph_tables(
    cur: duckdb.DuckDBPyConnection,
    *,
    prefix: Namespace,
    as_of: datetime | None,
    now: datetime,
    types: Sequence[str] | None,
    nodes: Sequence[str] | None,
    within: bool,
) -> tuple[pa.Table, pa.Table]:
    """Visible ``(nodes, edges)``; times are naive UTC.

    ``nodes`` restricts the result to edges touching those node ids (``within=False``) or
    joining two of them (``within=True``). The node table has columns id, kind, tier, text,
    namespace, name; the edge table the columns of the ``edges`` table.
    """
    cte, params = _cte(prefix, as_of, now)
    at = now if as_of is None else as_of
    where = [
        "created_at <= ? AND (valid_from IS NULL OR valid_from <= ?) "
        "AND (valid_to IS NULL OR valid_to > ?)",
        "(src_kind <> 'memory' OR src IN (SELECT id FROM vm))",
        "(dst_kind <> 'memory' OR dst IN (SELECT id FROM vm))",
        "(src_kind <> 'task' OR src IN (SELECT id FROM vt))",
        "(dst_kind <> 'task' OR dst IN (SELECT id FROM vt))",
    ]
    params += [at, at, at]
    if prefix:
        edge_ns, edge_params = prefix_sql(prefix)
        where.append(edge_ns)
        params += edge_params
    if types is not None:
        where.append("list_contains(?::VARCHAR[], type)")
        params.append(list(types))
    wanted = None if nodes is None else list(dict.fromkeys(nodes))
    if wanted is not None:
        joiner = "AND" if within else "OR"
        where.append(
            f"(src IN (SELECT unnest(?::VARCHAR[])) {joiner} dst IN (SELECT unnest(?::VARCHAR[])))"
        )
        params += [wanted, wanted]
    edges = cur.execute(
        f"{cte} SELECT {EDGE_COLUMNS} FROM edges WHERE {' AND '.join(where)} "
        "ORDER BY created_at, src, dst",
        params,
    ).to_arrow_table()
    ends = pc.unique(
        pa.concat_arrays([edges["src"].combine_chunks(), edges["dst"].combine_chunks()])
    )
    # Entities are listed when a visible edge touches them; ``within`` sets come from a walk
    # over visible edges, so their entities qualify even without an edge inside the set.
    entities = wanted if within and wanted is not None else ends.to_pylist()
    return _node_table(cur, prefix, as_of, now, wanted, ends.to_pylist(), entities), edges


def _node_table(
    cur: duckdb.DuckDBPyConnection,
    prefix: Namespace,
    as_of: datetime | None,
    now: datetime,
    wanted: list[str] | None,
    ends: list[str],
    entities: list[str],
) -> pa.Table:
    cte, params = _cte(prefix, as_of, now)
    if wanted is None:
        mem_cond = task_cond = "TRUE"
    else:
        ask = list(dict.fromkeys([*wanted, *ends]))
        mem_cond = task_cond = "id IN (SELECT unnest(?::VARCHAR[]))"
        params += [ask, ask]
    params.append(entities)
    sql = (
        f"{cte} "
        f"SELECT id, 'memory' AS kind, tier, text, namespace, NULL::VARCHAR AS name "
        f"FROM vm WHERE {mem_cond} "
        f"UNION ALL SELECT id, 'task', NULL, text, namespace, NULL FROM vt WHERE {task_cond} "
        "UNION ALL SELECT 'entity:' || id, 'entity', NULL, NULL, NULL, name FROM entities "
        "WHERE 'entity:' || id IN (SELECT unnest(?::VARCHAR[]))"
    )
    return cur.execute(sql, params).to_arrow_table()
