"""Agent definitions and the AgentHost tool loop, with a scripted model and in-memory store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents import (
    Agent,
    AgentHost,
    AgentRequest,
    AgentWorker,
    ChatResponse,
    Message,
    ScriptedModel,
    ToolCall,
    ToolSpec,
)
from agents.errors import AgentDefinitionError
from memory import HashEmbedder, MemoryService, Principal, Tier, pack_within_budget
from memory.errors import AccessDeniedError, ColonyError, InvalidInputError

TEAM = "newsroom"


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: First number.
        b: Second number.
    """
    return a + b


def broken(x: str) -> str:
    """Always fails."""
    raise RuntimeError(f"backend down for {x}")


def calls(*tool_calls: ToolCall) -> ChatResponse:
    return ChatResponse(Message("assistant", "", tool_calls))


@pytest.fixture
def memory() -> Iterator[MemoryService]:
    service = MemoryService.open(":memory:", embedder=HashEmbedder())
    yield service
    service.close()


def test_agent_validates_fields_and_converts_functions() -> None:
    model = ScriptedModel([])
    agent = Agent("writer", "Be brief.", model, tools=[add], reads=[["team", TEAM]])  # type: ignore[arg-type]
    assert isinstance(agent.tools, tuple) and isinstance(agent.tools[0], ToolSpec)
    assert agent.reads == (("team", TEAM),)
    with pytest.raises(AgentDefinitionError, match=r"Agent\.name.*'bad name'"):
        Agent("bad name", "x", model)
    with pytest.raises(AgentDefinitionError, match=r"Agent\.max_steps.*0"):
        Agent("a", "x", model, max_steps=0)
    with pytest.raises(AgentDefinitionError, match=r"Agent\.tools"):
        Agent("a", "x", model, tools=(42,))  # type: ignore[arg-type]
    with pytest.raises(AgentDefinitionError, match=r"Agent\.model"):
        Agent("a", "x", object())  # type: ignore[arg-type]
    with pytest.raises(AgentDefinitionError, match=r"Agent\.reads"):
        Agent("a", "x", model, reads=("team", TEAM))  # type: ignore[arg-type]
    with pytest.raises(AgentDefinitionError, match="several tools named"):
        Agent("a", "x", model, tools=(add, add))
    assert issubclass(AgentDefinitionError, ColonyError)


def test_direct_answer() -> None:
    model = ScriptedModel(["Paris."])
    result = AgentHost(Agent("geo", "Answer briefly.", model), team=TEAM).run("Capital of France?")
    assert (result.output, result.status, result.steps, result.tool_calls) == (
        "Paris.",
        "done",
        1,
        0,
    )
    assert [m.role for m in result.messages] == ["system", "user", "assistant"]
    assert model.requests[0].messages[0] == Message("system", "Answer briefly.")
    assert result.usage.completion_tokens == 1
    assert result.memories_used == ()


def test_tool_result_reaches_the_model() -> None:
    model = ScriptedModel([calls(ToolCall("c1", "add", {"a": 2, "b": 3})), "It is 5."])
    host = AgentHost(Agent("calc", "Use tools.", model, tools=(add,)), team=TEAM)
    result = host.run("What is 2 + 3?")
    assert (result.output, result.status, result.steps, result.tool_calls) == (
        "It is 5.",
        "done",
        2,
        1,
    )
    assert [t.name for t in model.requests[0].tools] == ["add"]
    last = model.requests[1].messages[-1]
    assert (last.role, last.content, last.tool_call_id, last.name) == ("tool", "5", "c1", "add")
    assert any(i.kind == "tool_result" and "5" in i.text for i in host.working_items())


def test_bad_argument_and_failing_tool_are_reported_and_loop_continues() -> None:
    model = ScriptedModel(
        [
            calls(ToolCall("c1", "add", {"a": "two", "b": 3})),
            calls(ToolCall("c2", "broken", {"x": "q"}), ToolCall("c3", "nope", {})),
            calls(ToolCall("c4", "add", {"a": 2, "b": 3})),
            "5",
        ]
    )
    host = AgentHost(Agent("calc", "Use tools.", model, tools=(add, broken)), team=TEAM)
    result = host.run("2 + 3?")
    assert (result.status, result.steps, result.tool_calls, result.output) == ("done", 4, 4, "5")
    bad = model.requests[1].messages[-1]
    assert bad.role == "tool" and "'a'" in bad.content and "'two'" in bad.content
    assert "Fix the arguments" in bad.content
    failing, unknown = model.requests[2].messages[-2:]
    assert "RuntimeError" in failing.content and "backend down for q" in failing.content
    assert "no tool named 'nope'" in unknown.content
    assert model.requests[3].messages[-1].content == "5"


def test_max_steps_stops_the_loop() -> None:
    looping = [calls(ToolCall(f"c{i}", "add", {"a": i, "b": 1})) for i in range(5)]
    model = ScriptedModel(looping)
    host = AgentHost(Agent("calc", "x", model, tools=(add,), max_steps=3), team=TEAM)
    result = host.run("loop forever")
    assert (result.status, result.steps) == ("max_steps", 3)
    assert result.tool_calls == 2  # the third step's call is not run: no model would read it
    assert model.remaining == 2


def test_shared_memory_hits_appear_in_prompt_and_memories_used(memory: MemoryService) -> None:
    editor = Principal.user("ed", teams=[TEAM])
    fact = memory.add(
        "The style guide bans the Oxford comma.", principal=editor, namespace=("team", TEAM)
    )
    model = ScriptedModel(["No Oxford comma."])
    agent = Agent("writer", "Follow the style guide.", model, reads=(("team", TEAM),))
    result = AgentHost(agent, team=TEAM, memory=memory).run(
        "Does the style guide allow the Oxford comma?"
    )
    assert result.memories_used == (fact.id,)
    prompt = "\n".join(m.content for m in model.requests[0].messages)
    assert f"[{fact.id}] The style guide bans the Oxford comma." in prompt


def test_a_word_budget_makes_one_context_across_the_namespaces_read(
    memory: MemoryService,
) -> None:
    editor = Principal.user("ed", teams=[TEAM])
    long = "The style guide bans the Oxford comma in headlines, captions and every byline too."
    texts = {
        ("team", TEAM): [long, "The style guide bans the Oxford comma.", "Commas are scarce."],
        ("team", TEAM, "desk"): ["Oxford comma: banned by the style guide.", "Lunch at noon."],
    }
    for namespace, said in texts.items():
        for text in said:
            memory.add(text, principal=editor, namespace=namespace)
    task = "Does the style guide allow the Oxford comma?"
    reader = Principal.agent(TEAM, "writer")
    reads = (("team", TEAM, "desk"), ("team", TEAM))  # the second contains the first
    hits = [
        hit for ns in reads for hit in memory.search(task, principal=reader, namespace_prefix=ns)
    ]
    best = {h.record.id: h for h in sorted(hits, key=lambda h: h.score)}  # best score wins
    ranked = sorted(best.values(), key=lambda h: h.score, reverse=True)
    for budget in (6, 12, 20):
        model = ScriptedModel(["No."])
        agent = Agent("writer", "x", model, reads=reads, memory_k=10, memory_budget_words=budget)
        result = AgentHost(agent, team=TEAM, memory=memory).run(task)
        expected = [h.record.id for h in pack_within_budget(ranked, budget)]
        assert result.memories_used == tuple(expected), budget
        shared = model.requests[0].messages[1].content.splitlines()[1:]
        texts_shown = [line.split("] ", 1)[1] for line in shared]
        assert texts_shown == [best[i].record.text for i in expected]
        assert sum(len(best[i].record.text.split()) for i in expected) <= budget
    with pytest.raises(AgentDefinitionError, match=r"Agent\.memory_budget_words.*0"):
        Agent("writer", "x", ScriptedModel([]), memory_budget_words=0)


def test_other_agents_private_namespace_is_never_read(memory: MemoryService) -> None:
    other = Principal.agent(TEAM, "spy")
    secret = memory.add("secret plan", principal=other, namespace=other.private_namespace())
    model = ScriptedModel(["ok"])
    nosy = Agent("writer", "x", model, reads=(("agent", TEAM, "spy"),))
    with pytest.raises(AccessDeniedError, match="agent:newsroom/writer may not read"):
        AgentHost(nosy, team=TEAM, memory=memory)
    # Its own reads never reach the other agent's namespace either.
    own = Agent("writer", "x", model, reads=(("team", TEAM),))
    result = AgentHost(own, team=TEAM, memory=memory).run("secret plan")
    assert secret.id not in result.memories_used
    assert "secret plan" not in "\n".join(m.content for m in model.requests[0].messages[1:-1])
    with pytest.raises(AccessDeniedError):
        memory.get(secret.id, principal=Principal.agent(TEAM, "writer"))


def test_memory_scope_needs_a_memory_service() -> None:
    agent = Agent("writer", "x", ScriptedModel([]), writes=("team", TEAM))
    with pytest.raises(InvalidInputError, match="no memory service"):
        AgentHost(agent, team=TEAM)


def test_working_memory_eviction_spills_to_private_interaction_tier(memory: MemoryService) -> None:
    model = ScriptedModel(
        [
            calls(ToolCall("c1", "add", {"a": 1, "b": 1})),
            calls(ToolCall("c2", "add", {"a": 2, "b": 2})),
            "done now",
        ]
    )
    agent = Agent("calc", "x", model, tools=(add,), working_budget_tokens=4)
    host = AgentHost(agent, team=TEAM, memory=memory)
    host.run("count please")
    assert host.working_items()  # the budget still holds something
    me = Principal.agent(TEAM, "calc")
    spilled = memory.search(
        "add task", principal=me, namespace_prefix=("agent", TEAM, "calc"), k=10
    )
    texts = {h.record.text for h in spilled}
    assert "task: count please" in texts
    assert all(h.record.tier is Tier.INTERACTION for h in spilled)
    assert all(h.record.namespace == ("agent", TEAM, "calc") for h in spilled)
    assert all(h.record.author == me.id for h in spilled)
    origins = {h.record.text.split(":")[0]: h.record.metadata["origin"] for h in spilled}
    assert origins["task"] == "agent" and origins["add"] == "tool"  # a tool's word is its own


def test_working_memory_persists_across_runs_and_is_shown_to_the_model() -> None:
    model = ScriptedModel(["one", "two"])
    host = AgentHost(Agent("calc", "x", model, working_budget_tokens=50), team=TEAM)
    host.run("first", state={"round": 1})
    assert "State:" in model.requests[0].messages[-1].content
    host.run("second")
    working = model.requests[1].messages[1]
    assert working.role == "system"
    assert "task: first" in working.content and "answer: one" in working.content


def test_final_answer_is_written_with_provenance(memory: MemoryService) -> None:
    editor = Principal.user("ed", teams=[TEAM])
    fact = memory.add("Launch is on Friday.", principal=editor, namespace=("team", TEAM, "facts"))
    model = ScriptedModel(["The launch is on Friday."])
    agent = Agent(
        "writer",
        "x",
        model,
        reads=(("team", TEAM, "facts"),),
        writes=("team", TEAM, "drafts"),
    )
    result = AgentHost(agent, team=TEAM, memory=memory).run("When is the launch?")
    drafts = memory.search(
        "launch Friday", principal=editor, namespace_prefix=("team", TEAM, "drafts"), k=5
    )
    assert [h.record.text for h in drafts] == ["The launch is on Friday."]
    record = drafts[0].record
    assert record.tier is Tier.INTERACTION
    assert record.provenance == result.memories_used == (fact.id,)
    assert record.author == "agent:newsroom/writer"


def test_writes_outside_the_agents_scope_is_denied(memory: MemoryService) -> None:
    agent = Agent("writer", "x", ScriptedModel([]), writes=("team", "other-team"))
    with pytest.raises(AccessDeniedError, match="may not write"):
        AgentHost(agent, team=TEAM, memory=memory)


def test_run_rejects_empty_task() -> None:
    host = AgentHost(Agent("a", "x", ScriptedModel([])), team=TEAM)
    with pytest.raises(InvalidInputError, match="task"):
        host.run("  ")


def test_a_step_sent_again_under_its_write_key_stores_its_answer_once(
    memory: MemoryService,
) -> None:
    agent = Agent("scribe", "Answer.", ScriptedModel(["noted"] * 3), writes=("team", "t", "notes"))
    worker = AgentWorker(agent, "t", memory)
    request = AgentRequest(task="note it", write_key="run-1/scribe/0").model_dump()
    worker.step(request)
    worker.step(request)  # its actor died before the reply: the orchestrator sends it again
    worker.step({**request, "write_key": "run-1/scribe/1"})  # a later step of the run
    stored = memory.search("noted", principal=Principal.admin(), k=10)
    assert len(stored) == 2


def test_without_a_write_key_every_step_stores_its_answer(memory: MemoryService) -> None:
    agent = Agent("scribe", "Answer.", ScriptedModel(["noted"] * 2), writes=("team", "t", "n"))
    worker = AgentWorker(agent, "t", memory)
    worker.step(AgentRequest(task="note it").model_dump())
    worker.step(AgentRequest(task="note it").model_dump())
    assert len(memory.search("noted", principal=Principal.admin(), k=10)) == 2
