"""Every file in examples/ runs: offline, and the research team against a real local endpoint."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers.chat_server import ChatServer, completion, tool_call

from agents import ToolSpec
from orchestrator import RunResult

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
QUICKSTART = EXAMPLES / "quickstart.py"


@pytest.fixture
def research(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """examples/research_team.py as a module, run in tmp_path with no endpoint configured."""
    monkeypatch.chdir(tmp_path)  # the default checkpoint file goes to ./.colony
    for var in ("COLONY_OPENAI_BASE_URL", "OPENAI_BASE_URL", "COLONY_MODEL", "COLONY_CHECKPOINTS"):
        monkeypatch.delenv(var, raising=False)
    # A proxy from the environment would send requests for 127.0.0.1 elsewhere.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    spec = importlib.util.spec_from_file_location("research_team", EXAMPLES / "research_team.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


# -- quickstart -----------------------------------------------------------------------------


def test_quickstart_is_at_most_15_lines() -> None:
    lines = [line for line in QUICKSTART.read_text().splitlines() if line.strip()]
    assert len(lines) <= 15, f"examples/quickstart.py has {len(lines)} non-blank lines"


def test_quickstart_runs_offline_and_prints_the_answer(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLONY_CHECKPOINTS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "7\n"  # "Colony runs teams of agents on Ray" has 7 words
    # Checkpoints went to the default embedded file, under the working directory only.
    assert (tmp_path / ".colony" / "checkpoints.sqlite").is_file()


def test_quickstart_team_answers_every_task_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `colony run examples.quickstart:team` runs many tasks against the one team object.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLONY_CHECKPOINTS", raising=False)
    team = runpy.run_path(str(QUICKSTART), run_name="quickstart")["team"]
    results: list[RunResult] = [team.run(task) for task in ("one two", "a b c d e", "one two")]
    assert [r.output for r in results] == ["2", "5", "2"]
    first = results[0]
    assert first.status == "done" and first.success is True
    assert [s.agent for s in first.steps] == ["counter", "writer"]
    assert [t.name for t in first.steps[0].tools_used] == ["word_count"]
    assert first.steps[0].tools_used[0].arguments == {"text": "one two"}
    with team.session() as session:  # one session: working memory carries over
        assert session.run("x y z").output == session.run("x y z").output == "3"


# -- research team, offline -----------------------------------------------------------------


def researcher_findings(result: RunResult) -> list[str]:
    return [
        line
        for step in result.steps
        if step.agent.startswith("researcher")
        for line in step.output.splitlines()
        if line.strip()
    ]


def test_research_team_offline_report_cites_every_finding(research: ModuleType) -> None:
    team = research.build_team(researchers=3)
    result = team.run("How does Colony use Ray actors, LangGraph Send and DuckDB?")
    assert result.status == "done" and result.success is True
    agents = [s.agent for s in result.steps]
    assert agents[0] == "supervisor" and agents[-1] == "writer"
    assert sorted(agents[1:-1]) == ["researcher-1", "researcher-2", "researcher-3"]
    plan = research.sub_questions(result.steps[0].output)
    assert plan == ["How does Colony use Ray actors?", "LangGraph Send?", "DuckDB?"]
    for step in result.steps[1:-1]:
        assert [t.name for t in step.tools_used] == ["search"] and step.tools_used[0].ok
    findings = researcher_findings(result)
    assert len(findings) == 3
    report = result.output
    sources = report.rsplit("Sources:", 1)[1]
    for finding in findings:
        assert finding in report  # every finding, with its citation
        cited = re.findall(r"\[([\w.-]+)\]", finding)
        assert cited and all(c in research.CORPUS and f"[{c}]" in sources for c in cited)
    assert {"ray-actors", "langgraph-send", "duckdb-memory"} <= set(
        re.findall(r"\[([\w-]+)\]", sources)
    )


def test_research_team_offline_is_deterministic(research: ModuleType) -> None:
    team = research.build_team(researchers=2, checkpoints=":memory:")
    task = "Ray actors, LangGraph checkpoints, DuckDB memory and OpenTelemetry tracing"
    first, second = team.run(task), team.run(task)
    assert first.output == second.output
    # Two researchers, four questions: each researcher takes two, the report keeps plan order.
    assert sorted(len(s.output.splitlines()) for s in first.steps[1:-1]) == [2, 2]
    numbered = [line for line in first.output.splitlines() if re.match(r"\d+\. ", line)]
    assert [line.split(" — ")[0] for line in numbered] == [
        "1. Ray actors?",
        "2. LangGraph checkpoints?",
        "3. DuckDB memory?",
        "4. OpenTelemetry tracing?",
    ]


def test_research_main_offline_says_which_model_and_prints_the_report(
    research: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert research.main(["--task", "What is DuckDB memory?", "--runtime", "local"]) == 0
    out, err = capsys.readouterr()
    assert "offline" in err
    assert out.startswith("Report: What is DuckDB memory?") and "[duckdb-memory]" in out


def test_research_main_rejects_a_bad_runtime(
    research: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        research.main(["--runtime", "cloud"])
    assert info.value.code == 2
    assert "--runtime" in capsys.readouterr().err


def test_search_tool_is_deterministic_and_bounded(research: ModuleType) -> None:
    hits = research.search("Which store holds shared memory: DuckDB?", k=1)
    assert [h["id"] for h in hits] == ["duckdb-memory"]
    assert research.search("weather in Oslo") == []
    assert len(research.search("LangGraph", k=99)) <= 5


# -- research team, against a real OpenAI-compatible endpoint on 127.0.0.1 -------------------


def scripted_endpoint(request: dict[str, Any]) -> dict[str, Any]:
    """Answer like an LLM would in each role, from the request alone (branches run at once)."""
    messages = request["messages"]
    system, last = messages[0]["content"], messages[-1]
    if system.startswith("You lead a research team"):
        return completion("1. What are Ray actors for?\n2. Where does shared memory live?")
    if request.get("tools"):  # a researcher
        if last["role"] == "user":
            question = last["content"].splitlines()[0]
            return completion(None, [tool_call("call-1", "search", {"query": question, "k": 1})])
        hit = json.loads(last["content"])[0]
        return completion(f"{hit['text']} [{hit['id']}]")
    assert last["role"] == "user" and "State:" in last["content"]
    return completion("Report: actors host agents [ray-actors]; DuckDB holds memory.")


def test_research_team_against_a_local_chat_completions_server(
    research: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ChatServer(scripted_endpoint) as server:
        monkeypatch.setenv("COLONY_OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("COLONY_MODEL", "test-model")
        status = research.main(["--task", "Explain Colony's actors and memory"])
        seen = list(server.requests)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert f"test-model at {server.url}" in err
    assert out.strip() == "Report: actors host agents [ray-actors]; DuckDB holds memory."

    # 1 plan + 2 researchers x (tool call, answer) + 1 report; the third researcher had no question.
    assert len(seen) == 6
    assert {r.path for r in seen} == {"/v1/chat/completions"}
    assert {r.authorization for r in seen} == {"Bearer sk-test"}
    assert {r.body["model"] for r in seen} == {"test-model"}
    research_requests = [r.body for r in seen if r.body.get("tools")]
    assert len(research_requests) == 4
    schema = ToolSpec.from_function(research.search).to_openai()
    for body in research_requests:
        assert body["tools"] == [schema]  # the tool's schema went over the wire
    assert schema["function"]["parameters"]["required"] == ["query"]

    tool_results = [
        m for body in research_requests for m in body["messages"] if m["role"] == "tool"
    ]
    assert len(tool_results) == 2
    for message in tool_results:
        assert message["tool_call_id"] == "call-1" and message["name"] == "search"
        hits = json.loads(message["content"])  # the real search results, sent back to the model
        assert hits and set(hits[0]) == {"id", "title", "text"}
    assert {json.loads(m["content"])[0]["id"] for m in tool_results} == {
        "ray-actors",
        "duckdb-memory",
    }
    # The writer was shown every researcher's finding.
    writer_prompt = seen[-1].body["messages"][-1]["content"]
    for doc_id in ("ray-actors", "duckdb-memory"):
        assert f"[{doc_id}]" in writer_prompt


def test_research_model_choice_follows_the_environment(research: ModuleType) -> None:
    factory, which = research.default_model_factory({})
    assert isinstance(factory("writer"), research.OfflineModel) and "offline" in which
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "COLONY_OPENAI_BASE_URL": "http://h/v1"}
    factory, which = research.default_model_factory(env)
    model = factory("researcher")
    assert (model.model, model.base_url) == (research.DEFAULT_MODEL, "http://h/v1")
    factory, which = research.default_model_factory({**env, "COLONY_MODEL": "local-llm"})
    assert which == "model: local-llm at http://h/v1" and factory("writer").model == "local-llm"
