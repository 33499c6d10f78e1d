"""Tool schemas from type hints and docstrings, and argument validation."""

from __future__ import annotations

from typing import Literal, Optional

import pytest

from agents import ToolSpec, tool
from agents.errors import ToolArgumentError, ToolDefinitionError
from memory.errors import InvalidInputError


def search(
    query: str,
    limit: int = 5,
    threshold: float = 0.5,
    exact: bool = False,
    tags: list[str] | None = None,
    mode: Literal["fast", "deep"] = "fast",
    since: Optional[int] = None,  # noqa: UP045  (Optional is one of the supported spellings)
) -> list[str]:
    """Search the notes.

    Finds notes that match the query,
    most relevant first.

    Args:
        query: What to look for.
        limit: Most results to return; a
            positive number.
        threshold (float): Minimum score.
        exact: Match whole words only.
        tags: Only notes with all these tags.
        mode: Search strategy.
        since: Unix time of the oldest note.

    Returns:
        The matching notes.
    """
    return [query, str(limit), str(threshold), str(exact), str(tags), mode, str(since)]


class Opaque:
    """A type with no JSON schema."""


def test_schema_from_hints_and_docstring() -> None:
    spec = tool(search)
    assert spec.name == "search"
    assert (
        spec.description
        == "Search the notes. Finds notes that match the query, most relevant first."
    )
    params = spec.parameters
    assert params["type"] == "object"
    assert params["required"] == ["query"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["limit"] == {
        "type": "integer",
        "description": "Most results to return; a positive number.",
        "default": 5,
    }
    assert props["threshold"]["type"] == "number"
    assert props["threshold"]["description"] == "Minimum score."
    assert props["exact"] == {
        "type": "boolean",
        "description": "Match whole words only.",
        "default": False,
    }
    assert props["tags"]["anyOf"] == [
        {"type": "array", "items": {"type": "string"}},
        {"type": "null"},
    ]
    assert props["mode"]["enum"] == ["fast", "deep"]
    assert props["mode"]["default"] == "fast"
    assert {"type": "null"} in props["since"]["anyOf"]
    assert spec.to_openai() == {
        "type": "function",
        "function": {"name": "search", "description": spec.description, "parameters": params},
    }


def test_call_validates_and_converts() -> None:
    spec = ToolSpec.from_function(search)
    out = spec.call({"query": "cats", "limit": "3", "tags": ["a"], "mode": "deep"})
    assert out == ["cats", "3", "0.5", "False", "['a']", "deep", "None"]
    assert spec.validate({"query": "x", "threshold": 1}) == {"query": "x", "threshold": 1.0}


@pytest.mark.parametrize(
    ("arguments", "argument", "fragment"),
    [
        ({"limit": 3}, "query", "missing required argument"),
        ({"query": "x", "limit": "many"}, "limit", "'many'"),
        ({"query": "x", "mode": "slow"}, "mode", "'slow'"),
        ({"query": "x", "tags": "a,b"}, "tags", "'a,b'"),
        ({"query": 42}, "query", "42"),
        ({"query": "x", "colour": "red"}, "colour", "unknown argument"),
    ],
)
def test_bad_arguments_name_tool_argument_and_value(
    arguments: dict[str, object], argument: str, fragment: str
) -> None:
    spec = tool(search)
    with pytest.raises(ToolArgumentError) as info:
        spec.call(arguments)
    message = str(info.value)
    assert "'search'" in message and repr(argument) in message and fragment in message
    assert info.value.tool == "search" and info.value.argument == argument
    assert isinstance(info.value, InvalidInputError)


def test_arguments_must_be_an_object() -> None:
    with pytest.raises(ToolArgumentError, match="expected a JSON object"):
        tool(search).call(["cats"])  # type: ignore[arg-type]


def test_tool_without_docstring_or_arguments() -> None:
    def ping() -> str:
        return "pong"

    spec = ToolSpec.from_function(ping, name="ping-1", description="Check liveness.")
    assert spec.name == "ping-1" and spec.description == "Check liveness."
    assert spec.parameters["properties"] == {} and spec.parameters["required"] == []
    assert spec.call({}) == "pong"


def test_bad_definitions() -> None:
    def no_hint(x) -> None:  # type: ignore[no-untyped-def]
        """X."""

    def var_args(*items: str) -> None:
        """X."""

    async def later(x: str) -> None:
        """X."""

    def opaque(x: Opaque) -> None:
        """X."""

    with pytest.raises(ToolDefinitionError, match="'x' has no type hint"):
        tool(no_hint)
    with pytest.raises(ToolDefinitionError, match=r"\*args"):
        tool(var_args)
    with pytest.raises(ToolDefinitionError, match="async"):
        tool(later)
    with pytest.raises(ToolDefinitionError, match="no JSON schema"):
        tool(opaque)
    with pytest.raises(ToolDefinitionError, match="tool name"):
        ToolSpec.from_function(search, name="has space")
    with pytest.raises(ToolDefinitionError, match="must be a function"):
        tool(3)  # type: ignore[arg-type]


def test_toolspec_is_immutable_and_compares_by_schema() -> None:
    first, second = tool(search), tool(search)
    assert first == second
    with pytest.raises(AttributeError):
        first.name = "other"  # type: ignore[misc]


def test_unresolvable_hint_is_a_definition_error() -> None:
    class Local:
        pass

    def uses_local(x: Local) -> None:
        """X."""

    # With postponed annotations a class local to a function cannot be resolved by name.
    with pytest.raises(ToolDefinitionError, match="cannot resolve its type hints"):
        tool(uses_local)
