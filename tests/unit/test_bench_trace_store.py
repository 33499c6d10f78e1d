"""The trace store's writer benchmark: both ways write every span; bad options are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.trace_store import agent_step_spans, run_trace_store
from memory.errors import InvalidInputError
from orchestrator.cli import app
from telemetry import DuckDBSpanExporter


def test_the_writer_is_timed_both_ways_over_every_span() -> None:
    result = run_trace_store(batch=50, batches=5, repeats=1)
    assert result["spans"] == 250
    assert result["segments_us_per_span"] > 0 and result["per_batch_us_per_span"] > 0
    assert result["speedup"] == pytest.approx(
        result["per_batch_us_per_span"] / result["segments_us_per_span"], rel=0.05
    )


def test_the_spans_are_an_agent_step_each_and_the_cli_prints_json() -> None:
    spans = agent_step_spans(3)
    assert [s.name for s in spans] == ["chat fake", "invoke_agent writer"] * 3
    out = CliRunner().invoke(
        app, ["bench", "trace-store", "--batch", "20", "--batches", "2", "--repeats", "1", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout.splitlines()[-1])["spans"] == 40


@pytest.mark.parametrize("bad", [{"batch": 0}, {"batches": -1}, {"repeats": True}])
def test_bad_options_are_refused_by_name(bad: dict[str, object]) -> None:
    name, value = next(iter(bad.items()))
    with pytest.raises(InvalidInputError, match=rf"{name} must be an int >= 1, got {value!r}"):
        run_trace_store(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("fold_every", [0, 1.5, True])
def test_the_exporter_refuses_a_bad_fold_interval(tmp_path: Path, fold_every: object) -> None:
    with pytest.raises(ValueError, match="fold_every must be an int >= 1"):
        DuckDBSpanExporter(tmp_path / "traces.duckdb", fold_every=fold_every)  # type: ignore[arg-type]
    assert not (tmp_path / "traces.duckdb").exists()  # refused before touching anything
