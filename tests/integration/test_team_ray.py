"""Teams on the ray runtime: the same outputs as local, shared memory, crashes, isolation."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import ray.cloudpickle
from langgraph.types import RetryPolicy

from agents import Agent, ChatResponse, Message, ScriptedModel, ToolCall
from memory import SYSTEM, Principal
from memory.errors import AccessDeniedError
from orchestrator import Handoffs, Parallel, Placement, RunView, Sequential, Supervisor, Team
from orchestrator.errors import TeamDefinitionError

pytestmark = pytest.mark.integration

# Models and tools defined here go to Ray workers, which cannot import a test module.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

TEAM = "crew"
TASK = "write a note about ray"
FACTS = {"ray": "Ray runs Python actors across a cluster"}
Script = Callable[[Sequence[Any]], ScriptedModel]


# -- what the scripted models read from their prompts ----------------------------------------


def call(tool: str, **arguments: Any) -> ChatResponse:
    """A model reply that calls one tool."""
    return ChatResponse(
        Message("assistant", "", tool_calls=(ToolCall(f"c-{tool}", tool, arguments),))
    )


def user_text(messages: Sequence[Message]) -> str:
    return [m.content for m in messages if m.role == "user"][-1]


def task_of(messages: Sequence[Message]) -> str:
    return user_text(messages).split("\n\nState:\n")[0]


def previous(messages: Sequence[Message]) -> list[str]:
    """The earlier steps' outputs the orchestrator showed the agent."""
    _, _, state = user_text(messages).partition("\n\nState:\n")
    return [p["output"] for p in json.loads(state).get("previous", [])] if state else []


def shared(messages: Sequence[Message]) -> list[str]:
    """The shared-memory lines the host put in the prompt."""
    for m in messages:
        if m.role == "system" and m.content.startswith("Shared memory:"):
            return m.content.splitlines()[1:]
    return []


def lookup(topic: str) -> str:
    """Look a topic up in the team's notes.

    Args:
        topic: What to look up.
    """
    return FACTS.get(topic, "nothing known")


# -- the same team definitions for both runtimes ---------------------------------------------


def researcher(script: Script) -> Agent:
    return Agent(
        "researcher",
        "Find facts.",
        script([call("lookup", topic="ray"), lambda m: f"notes: {m[-1].content}"]),
        tools=(lookup,),
    )


def writer(script: Script) -> Agent:
    return Agent("writer", "Write.", script([lambda m: "draft from " + " + ".join(previous(m))]))


def route(view: RunView) -> str | None:
    """The supervisor's router function: the researcher, then the writer, then finish."""
    order = ["researcher", "writer"]
    return order[len(view.steps)] if len(view.steps) < len(order) else None


def build(flow: str, script: Script) -> Team:
    """A fresh team (scripted models are consumed by a run) for ``flow``."""
    if flow == "sequential":
        agents = [researcher(script), writer(script)]
        return Team(TEAM, agents, flow=Sequential(), checkpoints=":memory:")
    if flow == "parallel":
        scout = [lambda m: f"scout saw {task_of(m)}"] * 2
        agents = [
            Agent("scout", "Scout.", script(scout)),
            Agent("analyst", "Analyse.", script([lambda m: f"analyst read {task_of(m)}"])),
            Agent("editor", "Merge.", script([lambda m: " | ".join(sorted(previous(m)))])),
        ]
        pairs = [("scout", "north"), ("scout", "south"), ("analyst", TASK)]
        fan_out = Parallel(workers=["scout", "analyst"], merge="editor", split=lambda _: pairs)
        return Team(TEAM, agents, flow=fan_out, checkpoints=":memory:")
    if flow == "supervisor_agent":
        lead = script(
            [
                call("transfer_to_researcher", note="find facts"),
                call("transfer_to_writer", note="write it up"),
                lambda m: f"final: {previous(m)[-1]}",
            ]
        )
        agents = [Agent("lead", "Route.", lead), researcher(script), writer(script)]
        return Team(TEAM, agents, flow=Supervisor(router="lead"), checkpoints=":memory:")
    if flow == "supervisor_function":
        agents = [researcher(script), writer(script)]
        return Team(TEAM, agents, flow=Supervisor(router=route), checkpoints=":memory:")
    assert flow == "handoffs"
    triage = Agent("triage", "Triage.", script([call("transfer_to_researcher", note="yours")]))
    agents = [triage, researcher(script)]
    return Team(TEAM, agents, flow=Handoffs(start="triage"), checkpoints=":memory:")


NOTES = "notes: Ray runs Python actors across a cluster"
FINAL = {
    "sequential": f"draft from {NOTES}",
    "parallel": f"analyst read {TASK} | scout saw north | scout saw south",
    "supervisor_agent": f"final: draft from find facts + {NOTES} + write it up",
    "supervisor_function": f"draft from {NOTES}",
    "handoffs": NOTES,
}


def trace(result: Any) -> list[tuple[Any, ...]]:
    return [
        (s.agent, s.output, s.status, s.handoff, [(u.name, u.ok) for u in s.tools_used])
        for s in result.steps
    ]


@pytest.mark.parametrize("flow", sorted(FINAL))
def test_same_outputs_on_local_and_ray(local_ray: Any, script: Script, flow: str) -> None:
    local = build(flow, script).run(TASK)
    with build(flow, script).session(runtime="ray") as session:
        remote = session.run(TASK)
        assert set(session.runtime.actors) == {a.name for a in session.team.agents}
    assert local.status == remote.status == "done"
    assert local.output == remote.output == FINAL[flow]
    if flow == "parallel":  # the branches finish in any order; the merge is last
        assert sorted(trace(local)) == sorted(trace(remote))
        assert trace(local)[-1] == trace(remote)[-1]
    else:
        assert trace(local) == trace(remote)


# -- shared memory through the memory actor --------------------------------------------------


def test_agents_share_memory_through_the_memory_actor(
    local_ray: Any, script: Script, tmp_path: Path
) -> None:
    notes = ("team", TEAM, "notes")
    scout = Agent(
        "scout",
        "Find facts and keep them.",
        script([call("lookup", topic="ray"), lambda m: f"fact: {m[-1].content}"] * 2),
        tools=(lookup,),
        writes=notes,
    )
    editor = Agent(
        "editor",
        "Write from the team's notes.",
        script([lambda m: "editor read " + " / ".join(shared(m))] * 2),
        reads=(notes,),
    )
    team = Team(TEAM, [scout, editor], memory=tmp_path / "crew.duckdb", checkpoints=":memory:")
    with team.session(runtime="ray") as session:
        first = session.run(TASK)
        second = session.run(TASK)
        trajectory = session.memory.get(first.learned.trajectory_id, principal=SYSTEM)
        insight = session.memory.get(first.learned.new_insight, principal=SYSTEM)

    written, read = first.steps
    assert written.output == "fact: Ray runs Python actors across a cluster"
    assert written.output in read.output  # the editor's actor read what the scout's wrote
    assert read.memories_used  # ... and the prompt cited that memory
    learned = first.learned
    assert learned is not None and learned.success and learned.new_insight is not None
    assert trajectory.text.startswith(f"Task: {TASK}\nOutcome: success")
    assert "scout called lookup" in insight.text
    # The next run of the same task recalls that insight and credits it.
    assert second.insights_used == (learned.new_insight,)
    assert second.learned is not None and second.learned.insights_used == (learned.new_insight,)


# -- crashes ---------------------------------------------------------------------------------


def solo(script: Script, steps: Sequence[Any], tools: Sequence[Callable[..., Any]] = ()) -> Team:
    agent = Agent("solo", "Answer.", script(steps), tools=tuple(tools))
    return Team(TEAM, [agent], checkpoints=":memory:")


def test_killed_agent_actor_restarts_for_the_next_run(local_ray: Any, script: Script) -> None:
    ray = local_ray
    answer = [lambda m: f"answer to {task_of(m)}"] * 2
    with solo(script, answer).session(runtime="ray") as session:
        actor = session.runtime.actors["solo"]
        assert session.run("first").output == "answer to first"
        pid = ray.get(actor.pid.remote())
        os.kill(pid, signal.SIGKILL)  # the actor's own process, by PID
        second = session.run("second")
        new_pid = ray.get(actor.pid.remote())
        working = session.working_memory("solo")
    assert second.status == "done" and second.output == "answer to second"
    assert new_pid != pid
    # Working memory lived in the killed process: only the second run's items remain.
    assert working == ["task: second", "answer: answer to second"]


def crash_once(marker: Path) -> Callable[[], str]:
    def crash_once() -> str:
        """Kill this process the first time it runs, then succeed."""
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return "survived"

    return crash_once


def test_actor_crash_during_a_step_is_retried(
    local_ray: Any, script: Script, tmp_path: Path
) -> None:
    ray = local_ray
    marker = tmp_path / "crashed"
    team = solo(script, [call("crash_once"), "recovered"], tools=[crash_once(marker)])
    with team.session(runtime="ray") as session:
        result = session.run("survive a crash")
        pid = ray.get(session.runtime.actors["solo"].pid.remote())
    assert marker.exists() and int(marker.read_text()) != pid  # the first process died
    assert result.status == "done" and result.output == "recovered"
    (step,) = result.steps  # the failed attempt left no step behind
    assert [(u.name, u.ok) for u in step.tools_used] == [("crash_once", True)]


class SlowToLoad:
    """Takes ``seconds`` to unpickle once ``marker`` exists: an actor restarted after the
    crash is slow to start, as one moved to another node after a node loss is."""

    def __init__(self, marker: Path, seconds: float) -> None:
        self.marker, self.seconds = marker, seconds

    def __getstate__(self) -> dict[str, Any]:
        return {"marker": self.marker, "seconds": self.seconds}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.marker, self.seconds = state["marker"], state["seconds"]
        if self.marker.exists():
            time.sleep(self.seconds)


def test_a_step_waits_for_an_actor_slower_to_restart_than_the_retry_backoff(
    local_ray: Any, script: Script, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"
    slow = SlowToLoad(marker, 4.0)
    crash = crash_once(marker)

    def crash_then_restart_slowly() -> str:
        """Crash; the restarted actor takes 4 s to load this tool."""
        assert slow.seconds > 0
        return crash()

    agent = Agent(
        "solo",
        "Answer.",
        script([call("crash_then_restart_slowly"), "recovered"]),
        tools=(crash_then_restart_slowly,),
    )
    # One retry, 0.1 s after the crash: it reaches the actor only because the step waited
    # for the restart (sent to an actor still restarting, it fails within ~2 s).
    once = RetryPolicy(max_attempts=2, initial_interval=0.1, retry_on=Exception)
    team = Team(TEAM, [agent], checkpoints=":memory:", retry=once)
    with team.session(runtime="ray") as session:
        started = time.monotonic()
        result = session.run("survive a slow restart")
        took = time.monotonic() - started
    assert result.status == "done" and result.output == "recovered", result
    assert took >= slow.seconds


# -- isolation -------------------------------------------------------------------------------


def vault_code() -> str:
    """The vault's code."""
    return "XK-42"


def isolated_team(script: Script, tmp_path: Path, reads: tuple[Any, ...] = ()) -> Team:
    # 6 words of working memory: "task: open vault" and "answer: done" evict the tool result
    # ("vault_code: XK-42"), which is spilled to the keeper's private namespace.
    keeper = Agent(
        "keeper",
        "Open the vault.",
        script([call("vault_code"), "done"]),
        tools=(vault_code,),
        working_budget_tokens=6,
    )
    other = Agent(
        "other",
        "Report what you know.",
        script([lambda m: "other saw " + " / ".join([*shared(m), *previous(m)])]),
        reads=reads or (("team", TEAM),),
    )
    return Team(TEAM, [keeper, other], memory=tmp_path / "crew.duckdb", checkpoints=":memory:")


def test_working_memory_stays_in_its_agent(local_ray: Any, script: Script, tmp_path: Path) -> None:
    with isolated_team(script, tmp_path).session(runtime="ray") as session:
        result = session.run("open vault")
        keeper = session.working_memory("keeper")
        other = session.working_memory("other")
        spilled = ("agent", TEAM, "keeper")
        as_other = session.memory.search(
            "vault_code XK-42", principal=Principal.agent(TEAM, "other"), namespace_prefix=spilled
        )
        as_keeper = session.memory.search(
            "vault_code XK-42", principal=Principal.agent(TEAM, "keeper"), namespace_prefix=spilled
        )
    assert keeper == ["task: open vault", "answer: done"]  # the tool result was evicted...
    assert [h.record.text for h in as_keeper] == ["vault_code: XK-42"]  # ...and spilled
    assert as_other == []  # another agent cannot read the keeper's namespace
    assert other == ["task: open vault", "answer: other saw done"]  # its own items only
    assert "XK-42" not in result.output


@pytest.mark.parametrize("runtime", ["local", "ray"])
def test_reading_another_agents_namespace_fails_at_start(
    local_ray: Any, script: Script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    team = isolated_team(script, tmp_path, reads=(("agent", TEAM, "keeper"),))
    with pytest.raises(AccessDeniedError, match="agent:crew/other may not read"):
        team.session(runtime=runtime)


# -- placement -------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_unplaceable_agent_fails_instead_of_hanging(
    local_ray: Any, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLONY_ACTOR_START_TIMEOUT", "3")
    agent = Agent("solo", "Answer.", script(["never"]))
    where = {"solo": Placement(resources={"no_such_node": 1})}
    team = Team(TEAM, [agent], placement=where, checkpoints=":memory:")
    start = time.monotonic()
    with pytest.raises(TeamDefinitionError, match="no_such_node"):
        team.session(runtime="ray")
    assert time.monotonic() - start < 60


def test_unplaceable_memory_actor_fails_instead_of_hanging(
    local_ray: Any, script: Script, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COLONY_ACTOR_START_TIMEOUT", "3")
    team = Team(
        TEAM,
        [Agent("solo", "Answer.", script(["never"]))],
        memory=tmp_path / "m.duckdb",
        memory_placement=Placement(labels={"colony-node": "nowhere"}),
        checkpoints=":memory:",
    )
    with pytest.raises(TeamDefinitionError, match="memory actor"):
        team.session(runtime="ray")
