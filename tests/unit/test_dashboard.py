"""The dashboard's pages over HTTP: paging, filters, search, a run's tree, memory, errors."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.dashboard import run_dashboard, synthetic_trace_store
from memory import HashEmbedder, MemoryService, Principal
from memory._duckdb import DuckDBStore
from orchestrator._dashboard import PAGE_SIZE, Dashboard, serving
from orchestrator.cli import app


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """120 generated runs of 20 spans, and a memory with one memory updated twice."""
    folder = tmp_path_factory.mktemp("dashboard")
    synthetic_trace_store(folder / "traces.duckdb", runs=120, spans_per_run=20)
    with MemoryService.open(folder / "memory.duckdb", embedder=HashEmbedder()) as service:
        me = Principal.admin()
        first = service.add("Ana lives in Lisbon", principal=me, namespace=("team", "t"))
        second = service.update(first.id, "Ana lives in Porto", principal=me, expected_version=1)
        service.update(second.id, "Ana lives in Braga", principal=me, expected_version=2)
        service.add("Ben has a dog", principal=me, namespace=("team", "u"), entities=("Ben",))
    memory = MemoryService(
        DuckDBStore.from_path(folder / "memory.duckdb", read_only=True), embedder=HashEmbedder()
    )
    try:
        with serving(Dashboard(folder / "traces.duckdb", memory)) as url:
            yield url
    finally:
        memory.close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def runs_on(page: str) -> list[str]:
    return re.findall(r"href='/run/(run\d+)'", page)


def test_runs_are_paged_newest_first_and_filtered(site: str) -> None:
    status, first = get(site + "/")
    assert status == 200 and runs_on(first) == [f"run{i}" for i in range(119, 119 - PAGE_SIZE, -1)]
    assert "page 1 of 3 (120 in all)" in first and "id='next'" in first
    last = get(site + "/?page=2")[1]
    assert runs_on(last) == [f"run{i}" for i in range(19, -1, -1)] and "id='next'" not in last
    interrupted = get(site + "/?status=interrupted")[1]
    assert runs_on(interrupted) == [f"run{i}" for i in range(110, -1, -10)]
    assert runs_on(get(site + "/?q=run11")[1]) == [
        "run119",
        "run118",
        "run117",
        "run116",
        "run115",
        "run114",
        "run113",
        "run112",
        "run111",
        "run110",
        "run11",
    ]
    assert runs_on(get(site + "/?team=nobody")[1]) == []
    assert len(runs_on(get(site + "/?team=bench")[1])) == PAGE_SIZE


def test_a_run_shows_its_span_tree_and_failures(site: str) -> None:
    status, page = get(site + "/run/run13")
    assert status == 200
    rows = re.findall(r"<tr class='span'", page)
    assert len(rows) == 20 and page.index("invoke_workflow bench") < page.index("invoke_agent a1")
    assert "ValueError: boom" in page  # span 13 of each run failed
    assert get(site + "/run/run999")[0] == 400


def test_memory_pages_browse_search_history_and_time(site: str) -> None:
    status, page = get(site + "/memory?ns=team/t")
    assert status == 200 and "Ana lives in Braga" in page and "Ben has a dog" not in page
    memory_id = re.findall(r"href='/memory/(\w+)'", page)[0]
    history = get(site + f"/memory/{memory_id}")[1]
    assert history.count("<tr class='change'>") == 3 and history.count("<tr class='version'>") == 3
    assert "Ana lives in Lisbon" in history and "superseded" in history
    found = get(site + "/memory?q=dog")[1]
    assert "Ben has a dog" in found
    before = get(site + "/memory?ns=team/t&as_of=2000-01-01T00:00")[1]
    assert "Ana lives" not in before
    assert get(site + "/memory?as_of=yesterday")[0] == 400
    assert "Ana lives in Braga" in get(site + "/memory?tier=semantic")[1]
    assert "Ana lives" not in get(site + "/memory?tier=interaction")[1]
    status, refused = get(site + "/memory?tier=gossip")
    assert status == 400 and "gossip" in refused


def test_graph_and_policy_pages(site: str) -> None:
    graph = get(site + "/graph?entity=Ben")[1]
    assert "<svg id='graph'" in graph and "Ben has a dog" in graph
    assert "Nothing in the memory mentions it" in get(site + "/graph?entity=Zed")[1]
    policy = get(site + "/policy")[1]
    totals = dict(re.findall(r"<tr class='total'><td>(\w+)</td><td>(\d+)</td>", policy))
    # Spans 5-9 and 15-19 of each run are decisions; 8 and 16 (i % 4 == 0) are UPDATEs.
    assert totals == {"ADD": str(120 * 8), "UPDATE": str(120 * 2)}
    assert get(site + "/nowhere")[0] == 404


def test_the_dashboard_benchmark_reports_every_page() -> None:
    result = run_dashboard(runs=50, spans_per_run=10, repeats=1)
    assert result["spans"] == 500
    pages = [k for k in result if k.endswith("_ms")]
    assert len(pages) == 6 and all(result[k] > 0 for k in pages)


def test_dashboard_cli_refuses_a_missing_store(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["dashboard", "--store", str(tmp_path / "none.duckdb")])
    assert out.exit_code != 0 and "run `colony demo` first" in out.output


@pytest.mark.parametrize("port", [-1, 65536])
def test_dashboard_cli_names_a_port_out_of_range(tmp_path: Path, port: int) -> None:
    out = CliRunner().invoke(
        app, ["dashboard", "--store", str(tmp_path / "m.duckdb"), "--port", str(port)]
    )
    assert out.exit_code == 2 and f"a port is 0-65535, got {port}" in out.output


def test_dashboard_cli_names_a_port_in_use_and_lets_go_of_the_store(tmp_path: Path) -> None:
    store = tmp_path / "memory.duckdb"
    MemoryService(DuckDBStore.from_path(store), embedder=HashEmbedder()).close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["dashboard", "--store", str(store), "--port", str(port), "--embedder", "hash"]
        out = CliRunner().invoke(app, args)
    assert out.exit_code == 2, out.output
    assert f"cannot listen on 127.0.0.1:{port}" in " ".join(out.output.split())
    assert out.exception is None or isinstance(out.exception, SystemExit)
    # The store it opened read-only is closed again: a writer can open it.
    MemoryService(DuckDBStore.from_path(store), embedder=HashEmbedder()).close()


def test_a_run_shows_up_while_it_runs_and_once_after(tmp_path: Path) -> None:
    from opentelemetry import trace

    from telemetry import segments_folder, tracing
    from tests.unit.test_telemetry import two_agent_team

    traces = tmp_path / "traces.duckdb"
    with (
        tracing(trace_store=traces, metrics_too=False),
        MemoryService.open(embedder=HashEmbedder()) as memory,
        serving(Dashboard(traces, None)) as url,
    ):
        run_id = two_agent_team(memory).run("What is 2 + 3?").thread_id
        trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
        # Still running: its spans are in a segment beside the file, not in the file yet.
        assert list(segments_folder(traces).glob("*.json"))
        live = get(url + f"/run/{run_id}")[1]
        assert get(url + "/")[1].count(f"href='/run/{run_id}'") == 1
        assert "invoke_agent calc" in live and "execute_tool add" in live
    assert list(segments_folder(traces).iterdir()) == []  # the run's end folded them in
    with serving(Dashboard(traces, None)) as url:
        assert get(url + "/")[1].count(f"href='/run/{run_id}'") == 1
        after = get(url + f"/run/{run_id}")[1]
    assert after.count("<tr class='span'") == live.count("<tr class='span'") > 4
