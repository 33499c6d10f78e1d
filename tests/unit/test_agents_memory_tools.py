"""Tools that use shared memory get an AgentMemory bound to their agent's principal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents import Agent, AgentHost, AgentMemory, ChatResponse, Message, ScriptedModel, ToolCall
from agents.errors import ToolDefinitionError
from memory import HashEmbedder, MemoryService, Principal, Tier
from memory.errors import InvalidInputError


def note(text: str, memory: AgentMemory) -> str:
    """Keep a note for the team.

    Args:
        text: The note.
    """
    return memory.add(text, tier=Tier.SEMANTIC).id


def recall(query: str, memory: AgentMemory) -> list[str]:
    """Search the team's notes.

    Args:
        query: What to look for.
    """
    return [hit.record.text for hit in memory.search(query, namespace=("team", "lab"))]


def peek(memory: AgentMemory) -> list[str]:
    """Try to read another agent's private notes."""
    return [hit.record.text for hit in memory.search("plan", namespace=("agent", "lab", "b"))]


def calls(*pairs: tuple[str, dict[str, object]]) -> ChatResponse:
    tool_calls = tuple(ToolCall(f"c{i}", name, args) for i, (name, args) in enumerate(pairs))
    return ChatResponse(Message("assistant", "", tool_calls=tool_calls))


@pytest.fixture
def service() -> Iterator[MemoryService]:
    with MemoryService.open(embedder=HashEmbedder()) as svc:
        yield svc


def test_memory_parameter_is_injected_and_hidden_from_the_schema(service: MemoryService) -> None:
    model = ScriptedModel(
        [
            calls(("note", {"text": "the pump is in hall 3"})),
            calls(("recall", {"query": "where is the pump"})),
            "done",
        ]
    )
    agent = Agent("a", "Work.", model, tools=[note, recall], writes=("team", "lab"))
    result = AgentHost(agent, team="lab", memory=service).run("log the pump")
    assert result.status == "done"
    schema = {t.name: t.parameters for t in model.requests[0].tools}
    assert set(schema["note"]["properties"]) == {"text"}
    assert schema["note"]["required"] == ["text"]
    tool_replies = [m.content for m in result.messages if m.role == "tool"]
    assert "the pump is in hall 3" in tool_replies[1]
    stored = service.search("pump", principal=Principal.admin(), namespace_prefix=("team", "lab"))
    assert stored[0].record.author == Principal.agent("lab", "a").id


def test_injected_memory_enforces_the_agents_access(service: MemoryService) -> None:
    service.add(
        "b's secret plan", principal=Principal.agent("lab", "b"), namespace=("agent", "lab", "b")
    )
    model = ScriptedModel([calls(("peek", {})), "done"])
    result = AgentHost(Agent("a", "Work.", model, tools=[peek]), team="lab", memory=service).run(
        "x"
    )
    reply = next(m.content for m in result.messages if m.role == "tool")
    assert "secret" not in reply


def test_a_memory_tool_without_memory_is_a_clear_error() -> None:
    agent = Agent("a", "Work.", ScriptedModel(["x"]), tools=[note])
    with pytest.raises(InvalidInputError, match="use shared memory"):
        AgentHost(agent, team="lab")
    spec = agent.tools[0]
    assert not callable(spec)
    with pytest.raises(ToolDefinitionError, match="takes shared memory"):
        spec.call({"text": "x"})
