"""Team: flows compiled to LangGraph, checkpoints, interrupts, resume, insight learning."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from agents import Agent, ChatResponse, FunctionModel, Message, ScriptedModel, ToolCall
from agents._host import _WRITES
from agents.errors import ModelHTTPError
from memory import HashEmbedder, MemoryService, Principal, Tier
from memory.errors import AccessDeniedError
from orchestrator import (
    AgentFinished,
    AgentStarted,
    Custom,
    Handoffs,
    Parallel,
    Placement,
    RunResult,
    RunView,
    Sequential,
    Supervisor,
    Team,
    TeamState,
)
from orchestrator.errors import RunStateError, TeamDefinitionError

REPO = Path(__file__).resolve().parents[2]


def scripted(*steps: Any) -> ScriptedModel:
    return ScriptedModel(list(steps))


def call(name: str, **arguments: Any) -> ChatResponse:
    return ChatResponse(
        Message("assistant", "", tool_calls=[ToolCall(f"c-{name}", name, arguments)])
    )


def agent(name: str, *steps: Any, **fields: Any) -> Agent:
    return Agent(name, f"You are {name}.", scripted(*steps), **fields)


def outputs(result: RunResult) -> list[str]:
    return [f"{s.agent}:{s.output}" for s in result.steps]


@pytest.fixture
def memory() -> Any:
    service = MemoryService.open(embedder=HashEmbedder())
    yield service
    service.close()


# -- flows ----------------------------------------------------------------------------------


def test_sequential_runs_in_order_and_each_agent_sees_the_previous_outputs() -> None:
    b_model = scripted("draft written")
    team = Team(
        "news",
        [agent("research", "facts: A and B"), Agent("write", "Write.", b_model)],
        checkpoints=":memory:",
    )
    result = team.run("Report on A")
    assert result.status == "done" and result.success is True
    assert outputs(result) == ["research:facts: A and B", "write:draft written"]
    assert result.output == "draft written"
    prompt = b_model.requests[0].messages[-1].content
    assert prompt.startswith("Report on A") and "facts: A and B" in prompt


def test_parallel_fans_out_with_send_and_the_merger_sees_every_branch() -> None:
    merge_model = scripted("merged")
    team = Team(
        "t",
        [agent("x", "from x"), agent("y", "from y"), Agent("m", "Merge.", merge_model)],
        flow=Parallel(merge="m"),
        checkpoints=":memory:",
    )
    result = team.run("task")
    assert sorted(outputs(result)[:2]) == ["x:from x", "y:from y"]
    assert outputs(result)[2] == "m:merged"
    seen = merge_model.requests[0].messages[-1].content
    assert "from x" in seen and "from y" in seen


def test_parallel_split_gives_each_branch_its_subtask() -> None:
    # One agent, two branches: the same host serves both (one step each).
    worker = ScriptedModel([lambda m: "done: " + m[-1].content.splitlines()[0]] * 2)
    team = Team(
        "t",
        [Agent("w", "Work.", worker)],
        flow=Parallel(
            split=lambda view: [("w", f"{view.task} part 1"), ("w", f"{view.task} part 2")]
        ),
        checkpoints=":memory:",
    )
    result = team.run("job")
    assert sorted(s.output for s in result.steps) == ["done: job part 1", "done: job part 2"]


def test_a_planner_output_is_split_across_workers_and_the_merger_sees_every_finding() -> None:
    questions = [f"question {i}" for i in range(12)]
    planner = FunctionModel(lambda messages, tools: "\n".join(questions))
    worker = FunctionModel(lambda messages, tools: "found: " + messages[-1].content.split("\n")[0])
    merged = ScriptedModel(["report"])
    team = Team(
        "t",
        [
            Agent("plan", "Plan.", planner),
            Agent("w1", "Research.", worker),
            Agent("w2", "Research.", worker),
            Agent("merge", "Merge.", merged),
        ],
        flow=Parallel(
            planner="plan",
            merge="merge",
            split=lambda view: [
                (("w1", "w2")[i % 2], line)
                for i, line in enumerate(view.last.output.splitlines() if view.last else [])
            ],
        ),
        checkpoints=":memory:",
    )
    result = team.run("survey")
    assert result.steps[0].agent == "plan"
    found = sorted(s.output for s in result.steps if s.agent in ("w1", "w2"))
    assert found == sorted(f"found: {q}" for q in questions)
    shown = merged.requests[0].messages[-1].content
    assert all(f"found: {q}" in shown for q in questions)  # more than 8 branches, none dropped


def test_branches_sent_to_one_agent_take_turns_on_its_host() -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def slow(messages: Sequence[Message], tools: Sequence[Any]) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return "ok"

    team = Team(
        "t",
        [Agent("w", "Work.", FunctionModel(slow))],
        flow=Parallel(split=lambda view: [("w", "a"), ("w", "b"), ("w", "c")]),
        checkpoints=":memory:",
    )
    assert len(team.run("x").steps) == 3
    assert peak[0] == 1


def test_parallel_split_returning_an_unknown_worker_is_a_clear_error() -> None:
    team = Team(
        "t",
        [agent("w", "x")],
        flow=Parallel(split=lambda view: [("nobody", view.task)]),
        checkpoints=":memory:",
    )
    with pytest.raises(TeamDefinitionError, match="nobody"):
        team.run("job")


def test_supervisor_agent_routes_with_transfer_tools_and_finishes_by_answering() -> None:
    boss = scripted(call("transfer_to_coder", note="write the code"), "shipped")
    team = Team(
        "t",
        [Agent("boss", "Route.", boss), agent("coder", "code done"), agent("tester", "unused")],
        flow=Supervisor("boss"),
        checkpoints=":memory:",
    )
    result = team.run("build it")
    assert outputs(result) == ["boss:write the code", "coder:code done", "boss:shipped"]
    offered = {t.name for t in boss.requests[0].tools}
    assert offered == {"transfer_to_coder", "transfer_to_tester"}


def test_supervisor_function_router_sees_the_steps_and_is_bounded_by_max_turns() -> None:
    seen: list[int] = []

    def route(view: RunView) -> str | None:
        seen.append(len(view.steps))
        return "w"  # never finishes on its own

    team = Team(
        "t",
        [Agent("w", "Work.", ScriptedModel([lambda m: "step"] * 5))],
        flow=Supervisor(route, max_turns=3),
        checkpoints=":memory:",
    )
    result = team.run("loop")
    assert len(result.steps) == 3 and seen == [0, 1, 2]  # the limit ends it, unasked


def test_supervisor_router_returning_an_unknown_agent_names_it() -> None:
    team = Team(
        "t", [agent("w", "x")], flow=Supervisor(lambda view: "ghost"), checkpoints=":memory:"
    )
    with pytest.raises(TeamDefinitionError, match="ghost"):
        team.run("task")


def test_handoffs_pass_the_task_along_until_an_agent_answers() -> None:
    team = Team(
        "t",
        [
            agent("triage", call("transfer_to_billing", note="refund request"), "resolved"),
            agent("billing", call("transfer_to_triage", note="refunded")),
        ],
        flow=Handoffs(start="triage"),
        checkpoints=":memory:",
    )
    result = team.run("I want my money back")
    assert outputs(result) == ["triage:refund request", "billing:refunded", "triage:resolved"]
    assert [s.handoff for s in result.steps] == ["billing", "triage", None]


def test_custom_stategraph_whose_nodes_are_agents() -> None:
    def build(nodes: Any) -> StateGraph[Any]:
        graph = StateGraph(TeamState)
        graph.add_node("a", nodes["a"])
        graph.add_node("b", nodes["b"])
        graph.add_edge(START, "b")
        graph.add_edge("b", "a")
        graph.add_edge("a", END)
        return graph

    team = Team("t", [agent("a", "A"), agent("b", "B")], flow=Custom(build), checkpoints=":memory:")
    assert outputs(team.run("go")) == ["b:B", "a:A"]


def test_stream_reports_which_agent_is_working_and_each_finished_step() -> None:
    team = Team("t", [agent("a", "A"), agent("b", "B")], checkpoints=":memory:")
    with team.session() as session:
        events = list(session.stream("go"))
    kinds = [
        type(e).__name__ + ":" + (e.agent if isinstance(e, AgentStarted) else e.step.agent)
        for e in events
        if isinstance(e, AgentStarted | AgentFinished)
    ]
    assert kinds == ["AgentStarted:a", "AgentFinished:a", "AgentStarted:b", "AgentFinished:b"]
    assert isinstance(events[-1], RunResult)


# -- definitions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"agents": []}, "at least one agent"),
        ({"agents": "a"}, "sequence of Agent"),
        ({"flow": "round-robin"}, "flow must be"),
        ({"flow": Sequential(order=["a", "zed"])}, "zed"),
        ({"interrupt_before": ["zed"]}, "zed"),
        ({"placement": {"a": {"num_cpus": 1}}}, "Placement"),
        ({"name": "bad name!"}, "Team.name"),
        ({"memory": 42}, "Team.memory"),
    ],
)
def test_bad_team_definitions_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"name": "t", "agents": [agent("a", "A")], **kwargs}
    if fields["agents"] == "a":
        fields["agents"] = "a"
    with pytest.raises(TeamDefinitionError, match=message):
        Team(**fields).session().close()


def test_duplicate_agent_names_are_rejected() -> None:
    with pytest.raises(TeamDefinitionError, match="several agents named"):
        Team("t", [agent("a", "1"), agent("a", "2")])


def test_placement_validates_numbers_and_maps_to_ray_options() -> None:
    assert Placement().ray_options() == {"num_cpus": 0.0}
    hint = Placement(num_cpus=1, resources={"node_b": 0.01}, labels={"zone": "b"})
    assert hint.ray_options() == {
        "num_cpus": 1.0,
        "resources": {"node_b": 0.01},
        "label_selector": {"zone": "b"},
    }
    with pytest.raises(TeamDefinitionError, match="num_cpus"):
        Placement(num_cpus=-1)
    with pytest.raises(TeamDefinitionError, match="labels"):
        Placement(labels={"zone": 3})  # type: ignore[dict-item]


def test_bad_runtime_and_task_are_rejected() -> None:
    team = Team("t", [agent("a", "A")], checkpoints=":memory:")
    with pytest.raises(TeamDefinitionError, match="runtime"):
        team.session(runtime="kubernetes")
    with pytest.raises(TeamDefinitionError, match="task"):
        team.run("  ")


# -- durability -----------------------------------------------------------------------------


def test_interrupt_waits_for_a_human_and_resume_passes_the_feedback(tmp_path: Path) -> None:
    writer = scripted("final text")
    team = Team(
        "t",
        [agent("draft", "first draft"), Agent("writer", "Write.", writer)],
        interrupt_before=["writer"],
        checkpoints=tmp_path / "cp.sqlite",
    )
    first = team.run("write a memo", thread_id="memo-1")
    assert first.status == "interrupted" and first.success is None
    assert first.interrupts == (
        {"agent": "writer", "task": "write a memo", "last_output": "first draft"},
    )
    assert writer.requests == []
    # A new session (as after a restart) resumes from the checkpoint file.
    done = team.resume("memo-1", "keep it under 100 words")
    assert done.status == "done" and outputs(done) == ["draft:first draft", "writer:final text"]
    assert "keep it under 100 words" in writer.requests[0].messages[-1].content


def test_resume_errors_name_the_thread(tmp_path: Path) -> None:
    team = Team("t", [agent("a", "A")], checkpoints=tmp_path / "cp.sqlite")
    with pytest.raises(RunStateError, match="no-such"):
        team.resume("no-such")
    team.run("go", thread_id="once")
    with pytest.raises(RunStateError, match="already finished"):
        team.resume("once")
    with pytest.raises(RunStateError, match="already has a run"):
        team.run("go", thread_id="once")


CRASHING_TEAM = """
import os, sys
from pathlib import Path
from agents import Agent, ChatResponse, FunctionModel, Message, ScriptedModel, ToolCall
from agents._host import _WRITES
from orchestrator import Team

MARK = Path(sys.argv[1]) / "crashed-once"

def flaky_deploy(target: str) -> str:
    '''Deploy to a target.'''
    if not MARK.exists():
        MARK.write_text("1")
        os._exit(17)  # the whole process dies mid-run, as on a crash
    return f"deployed {target}"

def build(a_model=None):
    calls = [ToolCall("1", "flaky_deploy", {"target": "prod"})]
    call = ChatResponse(Message("assistant", "", tool_calls=calls))
    return Team(
        "ops",
        [
            Agent("plan", "Plan.", a_model or ScriptedModel(["plan: deploy to prod"])),
            Agent(
                "deploy", "Deploy.", ScriptedModel([call, "done"]), tools=[flaky_deploy]
            ),
            Agent("report", "Report.", ScriptedModel(["all good"])),
        ],
        checkpoints=Path(sys.argv[1]) / "cp.sqlite",
    )

if __name__ == "__main__":
    build().run("ship release 1.2", thread_id="release-1.2")
"""


def test_a_run_whose_process_crashed_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    script = tmp_path / "crashing_team.py"
    script.write_text(textwrap.dedent(CRASHING_TEAM))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    crashed = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, timeout=120
    )
    assert crashed.returncode == 17, crashed.stderr.decode()[-2000:]

    sys.argv, saved = ["crashing_team.py", str(tmp_path)], sys.argv
    try:
        namespace: dict[str, Any] = {}
        exec(compile(script.read_text(), str(script), "exec"), namespace)
        plan_model = ScriptedModel([])  # must not be asked again: its step is checkpointed
        result = namespace["build"](plan_model).resume("release-1.2")
    finally:
        sys.argv = saved
    assert plan_model.requests == []
    assert outputs(result) == [
        "plan:plan: deploy to prod",
        "deploy:done",
        "report:all good",
    ]
    assert result.steps[1].tools_used[0].ok


def test_a_failing_model_call_is_retried_by_the_node_retry_policy() -> None:
    failures = iter([ModelHTTPError(503, "overloaded", "http://127.0.0.1:1/v1")])

    def flaky(messages: Sequence[Message]) -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "recovered"

    team = Team(
        "t",
        [Agent("a", "A", ScriptedModel([flaky, flaky]))],
        retry=RetryPolicy(max_attempts=2, initial_interval=0.01, retry_on=ModelHTTPError),
        checkpoints=":memory:",
    )
    assert outputs(team.run("go")) == ["a:recovered"]


# -- memory ---------------------------------------------------------------------------------


def test_agents_share_team_memory_and_the_run_is_recorded(memory: MemoryService) -> None:
    reader = scripted("I read it")
    team = Team(
        "lab",
        [
            agent("writer", "The reactor runs at 300 kelvin.", writes=("team", "lab", "notes")),
            Agent("reader", "Read.", reader, reads=(("team", "lab"),)),
        ],
        memory=memory,
        checkpoints=":memory:",
    )
    result = team.run("What temperature does the reactor run at?")
    shared = reader.requests[0].messages
    assert any("300 kelvin" in m.content for m in shared if m.role == "system")
    assert result.learned is not None and result.learned.success
    admin = Principal.admin()
    trajectory = memory.get(result.learned.trajectory_id, principal=admin)
    assert trajectory.tier == Tier.INTERACTION and "300 kelvin" in trajectory.text
    assert trajectory.namespace == ("team", "lab", "runs")


def test_an_agent_cannot_be_given_another_agents_private_namespace(
    memory: MemoryService,
) -> None:
    spy = agent("spy", "x", reads=(("agent", "lab", "victim"),))
    team = Team("lab", [spy, agent("victim", "y")], memory=memory, checkpoints=":memory:")
    with pytest.raises(AccessDeniedError, match="victim"):
        team.session()


def test_working_memory_is_private_to_each_agent(memory: MemoryService) -> None:
    team = Team(
        "lab",
        [agent("a", "secret plan alpha"), agent("b", "plan beta")],
        memory=memory,
        checkpoints=":memory:",
    )
    with team.session() as session:
        session.run("make a plan")
        a_items = session.working_memory("a")
        b_items = session.working_memory("b")
    assert any("alpha" in text for text in a_items)
    assert not any("alpha" in text for text in b_items)


def test_a_postgres_dsn_without_the_extra_names_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_postgres(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("langgraph.checkpoint.postgres"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_postgres)
    team = Team("t", [agent("a", "A")], checkpoints="postgresql://colony@127.0.0.1:1/runs")
    with pytest.raises(TeamDefinitionError, match=r"colony\[postgres\]"):
        team.session()


def test_checkpoints_that_are_not_a_place_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(TeamDefinitionError, match="checkpoints must be"):
        Team("t", [agent("a", "A")], checkpoints=42).session()  # type: ignore[arg-type]
    bad = tmp_path / "not-sqlite"
    bad.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(TeamDefinitionError, match="not a usable SQLite file"):
        Team("t", [agent("a", "A")], checkpoints=bad).session()


def test_interrupt_and_resume_in_one_session_with_in_memory_checkpoints() -> None:
    team = Team(
        "t",
        [agent("a", "one"), agent("b", "two")],
        interrupt_before=["b"],
        checkpoints=":memory:",
    )
    with team.session() as session:
        paused = session.run("go", thread_id="m1")
        assert paused.status == "interrupted"
        done = session.resume("m1", "ok")
    assert done.status == "done" and outputs(done) == ["a:one", "b:two"]


def test_each_step_stores_its_answer_under_an_id_named_by_run_agent_and_step() -> None:
    with MemoryService.open(embedder=HashEmbedder()) as memory:
        scribe = Agent(
            "scribe", "Note.", ScriptedModel(["first", "second"]), writes=("team", "notes")
        )
        team = Team("notes", [scribe], memory=memory, checkpoints=":memory:")
        with team.session() as session:
            runs = [session.run("note it"), session.run("note it")]
        stored = {
            hit.record.id: hit.record.text
            for hit in memory.search("first second", principal=Principal.admin(), k=10)
            if hit.record.namespace == ("team", "notes")  # not the runs' trajectories
        }
    expected = {
        uuid.uuid5(_WRITES, f"notes/{run.thread_id}/scribe/0").hex: run.output for run in runs
    }
    assert stored == expected
