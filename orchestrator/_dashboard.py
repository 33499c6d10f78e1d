"""``colony dashboard``: runs, their span trees, the memory and the policy's decisions.

A small server (standard library only) on 127.0.0.1 that renders HTML from two files: the
trace store (spans, :mod:`telemetry`) and the memory store, both opened read-only. Every list
is paged in SQL, so a page costs the same with ten runs or ten thousand.

Pages: ``/`` runs (filter by status and team, search by run id or task); ``/run/ID`` the span
tree of one run as a waterfall, with each span's attributes and errors; ``/memory``
namespaces and memories (search, "as of" a time); ``/memory/ID`` one memory's history;
``/graph`` the memory graph around an entity or a memory (click a node to move there);
``/policy`` the memory policy's decisions by day and type.
"""

from __future__ import annotations

import html
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

import duckdb
import networkx as nx

from memory import Filter, MemoryService, Principal, Tier, entity_subgraph, k_hop
from memory.errors import ColonyError, InvalidInputError, MemoryNotFoundError
from telemetry import TraceStore

__all__ = ["Dashboard", "serve", "serving"]

PAGE_SIZE = 50
_ADMIN = Principal.admin("dashboard")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _ms(ns: float) -> str:
    return f"{ns / 1e6:,.1f} ms"


def _when(ns: int | None) -> str:
    if not ns:
        return ""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Dashboard:
    """What the pages read: the trace store and the memory service (either may be None)."""

    traces: Path | None
    memory: MemoryService | None

    @contextmanager
    def _spans(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # Opened per request, read-only: a run may still be writing between two requests
        # (its latest spans are in segments beside the file, which the store's view includes).
        if self.traces is None or not self.traces.exists():
            raise MemoryNotFoundError(f"no trace store at {self.traces}; run `colony run` first")
        deadline = time.monotonic() + 2.0
        while True:
            try:
                store = TraceStore(self.traces, read_only=True)
                break
            except duckdb.IOException:  # a run is folding its segments in this instant
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            yield store.connection
        finally:
            store.close()

    # -- queries ---------------------------------------------------------------------------

    def runs(
        self, *, page: int = 0, status: str = "", team: str = "", q: str = ""
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of runs (newest first) and how many match."""
        where = ["parent_id IS NULL", "operation = 'invoke_workflow'"]
        params: list[Any] = []
        if status:
            where.append("(attributes->>'colony.run.status') = ?")
            params.append(status)
        if team:
            where.append("(attributes->>'gen_ai.workflow.name') = ?")
            params.append(team)
        if q:
            where.append("(run_id ILIKE ? OR (attributes->>'gen_ai.input.messages') ILIKE ?)")
            params += [f"%{q}%", f"%{q}%"]
        clause = " AND ".join(where)
        with self._spans() as conn:
            total = conn.execute(f"SELECT count(*) FROM spans WHERE {clause}", params).fetchone()
            conn.execute(
                f"""
                WITH page AS (
                    SELECT trace_id, run_id, start_ns, end_ns, status,
                           attributes->>'gen_ai.workflow.name' AS team,
                           attributes->>'colony.run.status' AS run_status,
                           attributes->>'gen_ai.input.messages' AS task,
                           TRY_CAST(attributes->>'gen_ai.usage.input_tokens' AS BIGINT)
                             + TRY_CAST(attributes->>'gen_ai.usage.output_tokens' AS BIGINT)
                             AS tokens
                    FROM spans WHERE {clause}
                    ORDER BY start_ns DESC LIMIT ? OFFSET ?
                )
                SELECT page.*,
                       count(DISTINCT s.agent) FILTER (WHERE s.operation = 'invoke_agent')
                         AS agents,
                       count(*) FILTER (WHERE s.name LIKE '%_memory %' OR s.name = 'noop_memory')
                         AS memory_ops,
                       count(*) FILTER (WHERE s.status = 'ERROR') AS errors
                FROM page JOIN spans s USING (trace_id)
                GROUP BY ALL ORDER BY page.start_ns DESC
                """,
                [*params, PAGE_SIZE, page * PAGE_SIZE],
            )
            rows = _dicts(conn)
        return rows, int(total[0] if total else 0)

    def run_spans(self, run_id: str) -> list[dict[str, Any]]:
        """Every span of a run's trace (the latest run with that id), in start order."""
        with self._spans() as conn:
            conn.execute(
                """
                SELECT span_id, parent_id, name, kind, start_ns, end_ns, status, status_message,
                       agent, node, attributes, events
                FROM spans WHERE trace_id = (
                    SELECT trace_id FROM spans WHERE run_id = ? AND parent_id IS NULL
                    ORDER BY start_ns DESC LIMIT 1)
                ORDER BY start_ns, span_id
                """,
                [run_id],
            )
            rows = _dicts(conn)
        return rows

    def decisions(self) -> list[tuple[str, str, str, int]]:
        """Memory-policy decisions by day, policy and type."""
        with self._spans() as conn:
            return conn.execute(
                """
                SELECT strftime(make_timestamp(start_ns // 1000), '%Y-%m-%d') AS day,
                       attributes->>'colony.memory.policy' AS policy,
                       attributes->>'colony.memory.decision' AS decision, count(*)
                FROM spans WHERE (attributes->>'colony.memory.decision') IS NOT NULL
                GROUP BY ALL ORDER BY day, policy, decision
                """
            ).fetchall()

    def _service(self) -> MemoryService:
        if self.memory is None:
            raise MemoryNotFoundError("no memory store given; start with --store PATH")
        return self.memory


def _dicts(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of the last query, as dicts by column name."""
    names = [column[0] for column in conn.description or ()]
    return [dict(zip(names, row, strict=True)) for row in conn.fetchall()]


def _depths(spans: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    parents = {s["span_id"]: s["parent_id"] for s in spans}
    depths: dict[str, int] = {}
    for span_id in parents:
        depth, seen, parent = 0, {span_id}, parents[span_id]
        while parent in parents and parent not in seen:
            seen.add(parent)
            depth, parent = depth + 1, parents[parent]
        depths[span_id] = depth
    return depths


# -- pages ---------------------------------------------------------------------------------

_STYLE = """
body{font:14px system-ui,sans-serif;margin:0;color:#222}
nav{background:#1f2937;padding:10px 16px}nav a{color:#e5e7eb;margin-right:18px;text-decoration:none}
main{padding:16px}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb}.err{color:#b91c1c}.muted{color:#6b7280}
.bar{position:relative;height:14px;background:#f3f4f6}
.bar span{position:absolute;height:14px;background:#60a5fa}
.bar span.ERROR{background:#f87171}form{margin:8px 0}input,select{margin-right:8px}
details pre{white-space:pre-wrap;margin:4px 0;font-size:12px}.tokens{white-space:nowrap}
"""


def _layout(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)} - Colony"
        f"</title><style>{_STYLE}</style></head><body><nav><a href='/'>Runs</a>"
        "<a href='/memory'>Memory</a><a href='/graph'>Graph</a><a href='/policy'>Policy</a>"
        f"</nav><main><h2>{_e(title)}</h2>{body}</main></body></html>"
    )


def _pager(path: str, query: Mapping[str, str], page: int, total: int) -> str:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    links = []
    for label, target in (("previous", page - 1), ("next", page + 1)):
        if 0 <= target < pages:
            links.append(
                f"<a id='{label}' href='{path}?{urlencode({**query, 'page': target})}'>{label}</a>"
            )
    return f"<p class='muted'>page {page + 1} of {pages} ({total} in all) {' '.join(links)}</p>"


def runs_page(board: Dashboard, query: Mapping[str, str]) -> str:
    page = int(query.get("page", "0") or 0)
    status, team, q = query.get("status", ""), query.get("team", ""), query.get("q", "")
    runs, total = board.runs(page=page, status=status, team=team, q=q)
    form = (
        "<form><input name='q' placeholder='run id or task' value='" + _e(q) + "'>"
        "<select name='status'>"
        + "".join(
            f"<option value='{v}'{' selected' if v == status else ''}>{v or 'any status'}</option>"
            for v in ("", "done", "interrupted")
        )
        + f"</select><input name='team' placeholder='team' value='{_e(team)}'>"
        "<button>filter</button></form>"
    )
    rows = "".join(
        f"<tr class='run'><td><a href='/run/{quote(r['run_id'] or '')}'>{_e(r['run_id'])}</a></td>"
        f"<td>{_e(r['team'])}</td><td>{_e(r['run_status'])}</td>"
        f"<td class='{'err' if r['errors'] else ''}'>{r['errors']}</td>"
        f"<td>{_e(_task(r['task']))}</td>"
        f"<td>{_ms(r['end_ns'] - r['start_ns'])}</td><td>{_e(r['tokens'])}</td>"
        f"<td>{r['agents']}</td><td>{r['memory_ops']}</td><td>{_when(r['start_ns'])}</td></tr>"
        for r in runs
    )
    table = (
        "<table><tr><th>run</th><th>team</th><th>status</th><th>failed spans</th><th>task</th>"
        "<th>duration</th>"
        "<th>tokens</th><th>agents</th><th>memory ops</th><th>started (UTC)</th></tr>"
        f"{rows}</table>"
    )
    return _layout(
        "Runs", form + table + _pager("/", {"q": q, "status": status, "team": team}, page, total)
    )


def _task(messages: str | None) -> str:
    if not messages:
        return "(content not recorded)"
    try:
        return str(json.loads(messages)[0]["parts"][0]["content"])[:120]
    except (ValueError, KeyError, IndexError, TypeError):
        return messages[:120]


def run_page(board: Dashboard, run_id: str) -> str:
    spans = board.run_spans(run_id)
    if not spans:
        raise MemoryNotFoundError(f"no run {run_id!r} in the trace store")
    start = min(s["start_ns"] for s in spans)
    length = max(1, max(s["end_ns"] for s in spans) - start)
    depths = _depths(spans)
    rows = []
    for s in spans:
        left = 100 * (s["start_ns"] - start) / length
        width = max(0.3, 100 * (s["end_ns"] - s["start_ns"]) / length)
        values = json.loads(s["attributes"])
        attributes = json.dumps(values, indent=1, sort_keys=True)
        events = json.loads(s["events"])
        # What the GenAI conventions record per model call (and sum per agent and run).
        tokens = (
            f"{values['gen_ai.usage.input_tokens']} in / {values['gen_ai.usage.output_tokens']} out"
            if "gen_ai.usage.input_tokens" in values and "gen_ai.usage.output_tokens" in values
            else ""
        )
        error = (
            f"<div class='err'>{_e(s['status_message'])}</div>" if s["status"] == "ERROR" else ""
        )
        rows.append(
            f"<tr class='span' data-kind='{_e(s['kind'])}'>"
            f"<td style='padding-left:{8 + 16 * depths[s['span_id']]}px'><details><summary>"
            f"{_e(s['name'])}</summary><pre>{_e(attributes)}</pre>"
            + (f"<pre>{_e(json.dumps(events, indent=1))}</pre>" if events else "")
            + f"</details>{error}</td><td>{_e(s['kind'])}</td><td>{_e(s['agent'])}</td>"
            f"<td class='muted'>{_e((s['node'] or '')[:8])}</td>"
            f"<td>{_ms(s['end_ns'] - s['start_ns'])}</td><td class='tokens'>{_e(tokens)}</td>"
            f"<td style='width:40%'><div class='bar'><span class='{_e(s['status'])}' "
            f"style='left:{left:.2f}%;width:{width:.2f}%'></span></div></td></tr>"
        )
    body = (
        f"<p class='muted'>{len(spans)} spans, {_ms(length)}, started {_when(start)} UTC</p>"
        "<table><tr><th>span</th><th>kind</th><th>agent</th><th>node</th><th>duration</th>"
        f"<th>tokens</th><th>timeline</th></tr>{''.join(rows)}</table>"
    )
    return _layout(f"Run {run_id}", body)


def _as_of(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(
            f"as_of must be an ISO time such as 2026-12-05T10:00, got {text!r}"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def memory_page(board: Dashboard, query: Mapping[str, str]) -> str:
    service = board._service()
    namespace = tuple(p for p in query.get("ns", "").split("/") if p)
    as_of, q = _as_of(query.get("as_of", "")), query.get("q", "")
    page = int(query.get("page", "0") or 0)
    tier = query.get("tier", "")
    tiers = (Tier(tier),) if tier else None  # an unknown tier is a ValueError: a clear 400
    spaces = service.list_namespaces(principal=_ADMIN, limit=1000)
    side = "".join(
        f"<li><a href='/memory?{urlencode({'ns': '/'.join(n)})}'>{_e('/'.join(n))}</a></li>"
        for n in spaces
    )
    form = (
        f"<form><input type='hidden' name='ns' value='{_e('/'.join(namespace))}'>"
        f"<input name='q' placeholder='search' value='{_e(q)}'>"
        f"<input name='as_of' placeholder='as of (ISO time)' value='{_e(query.get('as_of', ''))}'>"
        "<select name='tier'>"
        + "".join(
            f"<option value='{t}'{' selected' if t == tier else ''}>{t or 'every tier'}</option>"
            for t in ("", *(member.value for member in Tier))
        )
        + "</select><button>go</button></form>"
    )
    if q:
        hits = service.search(
            q, principal=_ADMIN, namespace_prefix=namespace, tiers=tiers, k=PAGE_SIZE, as_of=as_of
        )
        records = [h.record for h in hits]
        total = len(records)
    else:
        flt = Filter(namespace_prefix=namespace, tiers=tiers, as_of=as_of)
        records = service.store.scan(flt, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        total = service.store.count(flt)
    rows = "".join(
        f"<tr class='memory'><td><a href='/memory/{quote(r.id)}'>{_e(r.text[:160])}</a></td>"
        f"<td>{_e('/'.join(r.namespace))}</td><td>{_e(r.tier.value)}</td><td>v{r.version}</td>"
        f"<td>{_e(r.recorded_at.strftime('%Y-%m-%d %H:%M:%S'))}</td></tr>"
        for r in records
    )
    body = (
        f"<p>Namespaces:</p><ul>{side}</ul>{form}<table><tr><th>memory</th><th>namespace</th>"
        f"<th>tier</th><th>version</th><th>recorded (UTC)</th></tr>{rows}</table>"
        + (
            ""
            if q
            else _pager(
                "/memory",
                {"ns": "/".join(namespace), "as_of": query.get("as_of", ""), "tier": tier},
                page,
                total,
            )
        )
    )
    return _layout("Memory" + (f": {'/'.join(namespace)}" if namespace else ""), body)


def history_page(board: Dashboard, memory_id: str) -> str:
    service = board._service()
    history = service.history(memory_id, principal=_ADMIN)
    versions = service.versions(memory_id, principal=_ADMIN)
    events = "".join(
        f"<tr class='change'><td>{_e(h.at.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        f"<td>{_e(h.operation.value)}</td><td>{_e(h.old_version)} &rarr; {_e(h.new_version)}</td>"
        f"<td>{_e(h.policy)}</td><td>{'' if h.confidence is None else f'{h.confidence:.2f}'}</td>"
        f"<td>{_e(h.actor)}</td><td>{_e(h.reason)}</td><td>{_e(h.new_text)}</td></tr>"
        for h in history
    )
    kept = "".join(
        f"<tr class='version'><td>v{v.version}</td><td>{_e(v.text)}</td>"
        f"<td>{_e(v.valid_from)}</td><td>{_e(v.valid_to)}</td>"
        f"<td>{_e(', '.join(v.provenance))}</td>"
        f"<td>{'current' if v.is_current else 'superseded'}</td></tr>"
        for v in versions
    )
    around = urlencode({"node": memory_id})
    graph = f"<p><a id='graph' href='/graph?{around}'>graph around this memory</a></p>"
    body = (
        f"{graph}<h3>Changes</h3><table><tr><th>when (UTC)</th><th>operation</th>"
        "<th>version</th><th>policy</th><th>confidence</th><th>by</th><th>reason</th>"
        f"<th>text</th></tr>{events}</table><h3>Versions</h3><table><tr><th>version</th>"
        "<th>text</th><th>valid from</th><th>valid to</th><th>source events</th><th>state</th>"
        f"</tr>{kept}</table>"
    )
    return _layout(f"Memory {memory_id}", body)


def graph_page(board: Dashboard, query: Mapping[str, str]) -> str:
    service = board._service()
    entity, node = query.get("entity", ""), query.get("node", "")
    form = (
        f"<form><input name='entity' placeholder='entity, e.g. Ana' value='{_e(entity)}'>"
        "<button>show</button></form>"
    )
    if not entity and not node:
        return _layout("Memory graph", form + "<p class='muted'>Name an entity.</p>")
    # Two hops: a memory, its entities and the other memories that mention them.
    graph = entity_subgraph(service.store, entity, 2) if entity else k_hop(service.store, node, 2)
    return _layout("Memory graph", form + _svg(graph, focus=node or None))


def _svg(graph: nx.MultiDiGraph, focus: str | None) -> str:
    if graph.number_of_nodes() == 0:
        return "<p class='muted'>Nothing in the memory mentions it.</p>"
    nodes = list(graph.nodes)[:150]  # a readable picture; the rest is a click away
    shown = graph.subgraph(nodes)
    layout = nx.spring_layout(nx.Graph(shown), seed=0)
    size = 560

    def at(n: str) -> tuple[float, float]:
        x, y = layout[n]
        return 40 + (x + 1) / 2 * (size - 80), 40 + (y + 1) / 2 * (size - 80)

    lines = []
    for a, b in {(a, b) for a, b, _ in shown.edges(keys=True)}:
        (x1, y1), (x2, y2) = at(a), at(b)
        lines.append(
            f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#9ca3af'/>"
        )
    circles = []
    for n in nodes:
        data = shown.nodes[n]
        x, y = at(n)
        kind = data.get("kind", "")
        colour = {"entity": "#f59e0b", "task": "#10b981"}.get(kind, "#3b82f6")
        label = data.get("name") or data.get("text") or n
        target = (
            f"/graph?{urlencode({'entity': data.get('name', '')})}"
            if kind == "entity"
            else f"/memory/{quote(n)}"
        )
        ring = " stroke='#111' stroke-width='3'" if n == focus else ""
        circles.append(
            f"<a class='node' href='{_e(target)}'><circle cx='{x:.1f}' cy='{y:.1f}' r='9' "
            f"fill='{colour}'{ring}><title>{_e(str(label)[:200])}</title></circle>"
            f"<text x='{x + 11:.1f}' y='{y + 4:.1f}' font-size='11'>"
            f"{_e(str(label)[:28])}</text></a>"
        )
    return (
        f"<p class='muted'>{shown.number_of_nodes()} nodes, {shown.number_of_edges()} edges; "
        "click a memory for its history, an entity to centre the graph on it.</p>"
        f"<svg id='graph' width='{size}' height='{size}'>{''.join(lines)}{''.join(circles)}</svg>"
    )


def policy_page(board: Dashboard) -> str:
    rows = board.decisions()
    totals: dict[str, int] = {}
    for _, _, decision, count in rows:
        totals[decision] = totals.get(decision, 0) + count
    biggest = max(totals.values(), default=1)
    bars = "".join(
        f"<tr class='total'><td>{_e(d)}</td><td>{n}</td><td style='width:60%'><div class='bar'>"
        f"<span style='left:0;width:{100 * n / biggest:.1f}%'></span></div></td></tr>"
        for d, n in sorted(totals.items())
    )
    days = "".join(
        f"<tr class='decision'><td>{_e(day)}</td><td>{_e(policy)}</td><td>{_e(decision)}</td>"
        f"<td>{n}</td></tr>"
        for day, policy, decision, n in rows
    )
    body = (
        f"<h3>By type</h3><table>{bars}</table><h3>Over time</h3><table><tr><th>day</th>"
        f"<th>policy</th><th>decision</th><th>count</th></tr>{days}</table>"
    )
    return _layout("Memory policy decisions", body)


# -- server --------------------------------------------------------------------------------


def _routes(board: Dashboard, path: str, query: Mapping[str, str]) -> str:
    parts = [p for p in path.split("/") if p]
    pages: dict[tuple[str, ...], Callable[[], str]] = {
        (): lambda: runs_page(board, query),
        ("memory",): lambda: memory_page(board, query),
        ("graph",): lambda: graph_page(board, query),
        ("policy",): lambda: policy_page(board),
    }
    if tuple(parts) in pages:
        return pages[tuple(parts)]()
    if len(parts) == 2 and parts[0] == "run":
        return run_page(board, parts[1])
    if len(parts) == 2 and parts[0] == "memory":
        return history_page(board, parts[1])
    raise FileNotFoundError(path)


@contextmanager
def serving(board: Dashboard, *, port: int = 0) -> Iterator[str]:
    """The dashboard served for the block; yields its URL, and stops it on exit."""
    server = serve(board, port=port)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve(board: Dashboard, *, port: int = 0) -> ThreadingHTTPServer:
    """Start the dashboard on 127.0.0.1 in a background thread; ``server_address`` says where.

    Stop it with ``shutdown()`` and ``server_close()``.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                status, page = HTTPStatus.OK, _routes(board, url.path, query)
            except FileNotFoundError:
                status, page = HTTPStatus.NOT_FOUND, _layout("Not found", f"<p>{_e(url.path)}</p>")
            except (ColonyError, ValueError, duckdb.Error) as exc:
                status = HTTPStatus.BAD_REQUEST
                page = _layout("Cannot show that", f"<p class='err'>{_e(exc)}</p>")
            data = page.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="colony-dashboard", daemon=True).start()
    return server
