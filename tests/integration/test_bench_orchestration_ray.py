"""The orchestration benchmark on Ray, small: every figure present; Ray stopped after."""

from __future__ import annotations

import pytest

from benchmarks.orchestration import run_orchestration, summarize

pytestmark = pytest.mark.integration


def test_ray_run_reports_every_figure_and_stops_its_ray() -> None:
    import ray

    assert not ray.is_initialized(), "another test left Ray running"
    try:
        result = run_orchestration(
            runtime="ray", hops=20, fanout_agents=4, calls_per_agent=2, latency_s=0.05, repeats=1
        )
        assert not ray.is_initialized(), "the benchmark must stop the Ray it started"
    finally:
        if ray.is_initialized():
            ray.shutdown()
    for key in ("inprocess_hop_ms", "ray_hop_ms", "ray_actor_rtt_ms", "added_hop_ms"):
        assert isinstance(result[key], float), (key, result[key])
    assert result["ray_hop_ms"] > 0 and result["ray_actor_rtt_ms"] > 0
    assert result["added_hop_ms"] == pytest.approx(
        result["ray_hop_ms"] - result["inprocess_hop_ms"], abs=0.002
    )
    assert result["fanout_runtime"] == "ray" and result["fanout_agents"] == 4
    assert result["fanout_ideal_s"] <= result["fanout_wall_s"] < 3 * result["fanout_ideal_s"]
    assert result["fanout_startup_s"] > 0
    assert "on Ray" in summarize(result)
