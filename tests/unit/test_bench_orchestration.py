"""The orchestration benchmark on the local runtime: keys, types, a sane fan-out; no Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from agents import Agent, AgentHost
from benchmarks.orchestration import SleepyModel, main, noop, run_orchestration, summarize
from memory.errors import InvalidInputError

REQUIRED = {
    "inprocess_hop_ms": float,
    "ray_hop_ms": type(None),
    "ray_actor_rtt_ms": type(None),
    "added_hop_ms": type(None),
    "fanout_agents": int,
    "fanout_wall_s": float,
    "fanout_ideal_s": float,
}


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any ``import ray`` fails: the local runtime must not start or even load Ray."""
    monkeypatch.setitem(sys.modules, "ray", None)


def test_local_run_reports_the_issue_keys_without_ray(no_ray: None) -> None:
    result = run_orchestration(
        runtime="local", hops=20, fanout_agents=4, calls_per_agent=2, latency_s=0.05, repeats=1
    )
    assert list(result)[: len(REQUIRED)] == list(REQUIRED)
    for key, kind in REQUIRED.items():
        assert isinstance(result[key], kind), (key, result[key])
    assert result["fanout_agents"] == 4
    assert result["fanout_ideal_s"] == pytest.approx(0.1)
    assert result["inprocess_hop_ms"] > 0
    assert isinstance(result["inprocess_hop_sqlite_ms"], float)
    # Each agent sleeps twice in a row, so no run can beat the ideal; four agents run in
    # parallel, so a run far from it means they did not.
    assert result["fanout_ideal_s"] <= result["fanout_wall_s"] < 3 * result["fanout_ideal_s"]
    assert result["fanout_runtime"] == "local"
    assert result["added_hop_over_rtt"] is None
    assert result["checkpoints"] == ":memory:"
    line = summarize(result)
    assert "no Ray" in line and "4 agents" in line


def test_tracing_on_and_off_are_timed_in_the_same_run() -> None:
    # A fresh process: the on/off switch needs the process's first tracer provider.
    args = ["--runtime", "local", "--hops", "20", "--fanout-agents", "2", "--calls-per-agent", "2"]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.orchestration", *args, "--latency-s", "0.02"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout)
    for key in (
        "tracing_overhead_inprocess",
        "tracing_overhead_inprocess_mean",
        "tracing_overhead_inprocess_runs",
        "tracing_overhead_fanout",
    ):
        assert isinstance(result[key], float) and -0.5 < result[key] < 1.0, (key, result[key])
    # The trace store's writes, charged to the hops that made the spans: never less.
    assert result["trace_store_ms_per_span"] > 0
    assert result["tracing_overhead_inprocess_with_store"] > result["tracing_overhead_inprocess"]
    assert result["inprocess_hop_traced_ms"] > 0 and result["fanout_traced_wall_s"] > 0
    assert result["tracing_overhead_ray"] is None
    assert result["tracing_overhead_ray_with_store"] is None
    assert result["tracing_overhead_ray_runs"] is None
    assert "tracing overhead in-process hop" in out.stderr
    assert "in-process runs, writes included" in out.stderr


def test_main_prints_only_json_on_stdout_and_the_summary_on_stderr(
    no_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--runtime", "local", "--hops", "5", "--fanout-agents", "2", "--calls-per-agent", "1"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["hops"] == 5 and result["fanout_agents"] == 2 and result["repeats"] == 3
    assert result["latency_s"] == 0.2 and err.startswith("orchestration: ")


def test_sleepy_model_makes_exactly_the_asked_calls() -> None:
    model = SleepyModel(0.0, 3)
    host = AgentHost(Agent("w", "Work.", model, tools=(noop,), max_steps=3), team="t")
    for _ in range(2):  # the count restarts with every run
        result = host.run("go")
        assert (result.status, result.steps, result.tool_calls) == ("done", 3, 2)


@pytest.mark.parametrize(
    "change",
    [
        {"runtime": "cluster"},
        {"hops": 0},
        {"fanout_agents": 0},
        {"calls_per_agent": 0},
        {"repeats": 0},
        {"latency_s": 0.0},
    ],
)
def test_bad_configuration_is_refused(change: dict[str, Any], no_ray: None) -> None:
    with pytest.raises(InvalidInputError, match=next(iter(change))):
        run_orchestration(**change)
