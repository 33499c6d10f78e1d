"""LangChain chat models and tools in an Agent, with real LangChain classes and no network."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import StructuredTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agents import (
    Agent,
    AgentHost,
    LangChainChatModel,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    tool_from_langchain,
)
from agents.errors import (
    AgentDefinitionError,
    ModelConfigError,
    ModelError,
    ModelResponseError,
    ToolArgumentError,
    ToolDefinitionError,
)
from memory.errors import InvalidInputError

TEAM = "newsroom"


class ReplayChatModel(BaseChatModel):
    """A LangChain chat model with tool calling that replays its replies and records requests.

    A reply that is an exception is raised instead, as a failing provider would.
    """

    replies: list[Any]
    received: list[list[BaseMessage]] = Field(default_factory=list)
    tools_sent: list[list[dict[str, Any]]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        self.tools_sent.append(list(kwargs.get("tools", [])))
        reply = self.replies[len(self.received) - 1]
        if isinstance(reply, Exception):
            raise reply
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Runnable[Any, AIMessage]:
        # As provider integrations do: the tools reach _generate as a request parameter.
        return self.bind(tools=list(tools), **kwargs)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def call(name: str, args: dict[str, Any], call_id: str | None = "c1", **kw: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"id": call_id, "name": name, "args": args}], **kw)


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


def test_host_runs_a_tool_loop_with_a_langchain_model_and_tool() -> None:
    model = ReplayChatModel(
        replies=[
            call("add", {"a": 2, "b": 3}, usage_metadata=usage(10, 4)),
            AIMessage("It is 5.", usage_metadata=usage(20, 3)),
        ]
    )
    agent = Agent("calc", "Use tools.", model, tools=[add])  # type: ignore[arg-type]
    assert isinstance(agent.model, LangChainChatModel) and agent.model.model is model
    assert isinstance(agent.tools[0], ToolSpec)

    result = AgentHost(agent, team=TEAM).run("What is 2 + 3?")

    assert (result.output, result.status, result.steps, result.tool_calls) == (
        "It is 5.",
        "done",
        2,
        1,
    )
    assert result.usage == Usage(30, 7)
    assert model.tools_sent[0] == [convert_to_openai_tool(add)]
    assert result.messages[-2] == Message("tool", "5", tool_call_id="c1", name="add")
    system, user, asked, answered = model.received[1]
    assert isinstance(system, SystemMessage) and isinstance(user, HumanMessage)
    assert isinstance(asked, AIMessage) and isinstance(answered, ToolMessage)
    assert asked.tool_calls == [
        {"id": "c1", "name": "add", "args": {"a": 2, "b": 3}, "type": "tool_call"}
    ]
    assert (answered.content, answered.tool_call_id) == ("5", "c1")


def test_messages_convert_both_ways() -> None:
    reply = AIMessage(
        [{"type": "text", "text": "Looking "}, "it up", {"type": "reasoning", "reasoning": "x"}],
        tool_calls=[{"id": None, "name": "add", "args": {"a": 1, "b": 2}}],
    )
    model = ReplayChatModel(replies=[reply])
    conversation = [
        Message("system", "Be brief."),
        Message("user", "Sum?", name="ann"),
        Message("assistant", "", (ToolCall("c0", "add", {"a": 0, "b": 1}),)),
        Message("tool", "1", tool_call_id="c0", name="add"),
    ]

    response = LangChainChatModel(model).chat(conversation)

    system, user, assistant, tool_reply = model.received[0]
    assert isinstance(system, SystemMessage) and system.content == "Be brief."
    assert isinstance(user, HumanMessage) and (user.content, user.name) == ("Sum?", "ann")
    assert isinstance(assistant, AIMessage)
    assert [(c["id"], c["name"], c["args"]) for c in assistant.tool_calls] == [
        ("c0", "add", {"a": 0, "b": 1})
    ]
    assert isinstance(tool_reply, ToolMessage)
    assert (tool_reply.content, tool_reply.tool_call_id, tool_reply.name) == ("1", "c0", "add")
    assert model.tools_sent == [[]]  # no tools offered: bind_tools is not called

    message = response.message
    assert (message.role, message.content) == ("assistant", "Looking it up")
    (made,) = message.tool_calls
    assert (made.name, made.arguments) == ("add", {"a": 1, "b": 2})
    assert made.id.startswith("call_")  # the model gave none; the tool reply must quote one
    assert response.usage == Usage()


def test_bad_tool_arguments_go_back_to_the_model() -> None:
    model = ReplayChatModel(
        replies=[
            call("add", {"a": "two", "b": 3}),
            call("add", {"a": 2}, "c2"),
            AIMessage("Cannot add."),
        ]
    )
    result = AgentHost(Agent("calc", "x", model, tools=[add]), team=TEAM).run("2 + 3?")  # type: ignore[arg-type]

    assert (result.output, result.status, result.tool_calls) == ("Cannot add.", "done", 2)
    wrong_type, missing = (m.content for m in result.messages if m.role == "tool")
    assert wrong_type.startswith("error: tool 'add': argument 'a' = 'two': ")
    assert "Fix the arguments" in wrong_type
    assert missing.startswith("error: tool 'add': argument 'b' = None: Field required")


def test_tool_from_langchain_describes_and_checks_the_tool() -> None:
    @tool(parse_docstring=True)
    def scale(x: float, factor: float = 2.0) -> float:
        """Multiply a number.

        Args:
            x: The number.
            factor: How much.
        """
        return x * factor

    spec = tool_from_langchain(scale)
    expected = convert_to_openai_tool(scale)["function"]
    assert (spec.name, spec.description, spec.parameters) == (
        "scale",
        expected["description"],
        expected["parameters"],
    )
    assert spec.parameters["properties"]["x"]["description"] == "The number."
    assert spec.call({"x": 1.5}) == 3.0
    with pytest.raises(ToolArgumentError) as info:
        spec.call({"x": "lots"})
    assert (info.value.tool, info.value.argument, info.value.value) == ("scale", "x", "lots")
    assert tool_from_langchain(scale, name="times").name == "times"

    # A tool whose schema is plain JSON schema: required arguments are still checked.
    shout = StructuredTool.from_function(
        func=lambda text: text.upper(),
        name="shout",
        description="Shout.",
        args_schema={
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    )
    spec = tool_from_langchain(shout)
    assert spec.call({"text": "hi"}) == "HI"
    with pytest.raises(ToolArgumentError, match="'text' = None: missing required argument"):
        spec.call({})

    with pytest.raises(ToolDefinitionError, match="must be 1-64 letters"):
        tool_from_langchain(scale, name="bad name")
    with pytest.raises(ToolDefinitionError, match="needs a LangChain BaseTool"):
        tool_from_langchain(lambda a, b: a + b)  # type: ignore[arg-type]


def test_tool_spec_from_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"q": {"type": "string"}},
        "required": ["q"],
        "additionalProperties": False,
    }
    spec = ToolSpec.from_schema("find", "Find things.", schema, lambda q: [q])
    assert spec.call({"q": "cats"}) == ["cats"]
    assert spec.to_openai()["function"]["parameters"] == schema
    with pytest.raises(ToolArgumentError, match="'z' = 1: unknown argument"):
        spec.call({"q": "x", "z": 1})
    with pytest.raises(ToolArgumentError, match="expected a JSON object"):
        spec.call(["q"])  # type: ignore[arg-type]
    with pytest.raises(ToolDefinitionError, match=r"type.*object"):
        ToolSpec.from_schema("find", "x", {"type": "string"}, lambda q: q)


def test_model_failures_become_model_errors() -> None:
    quota = RuntimeError("quota exceeded")
    model = ReplayChatModel(replies=[quota])
    failed = "ReplayChatModel failed in invoke: RuntimeError: quota exceeded"
    with pytest.raises(ModelError, match=failed) as info:
        AgentHost(Agent("calc", "x", model), team=TEAM).run("hi")  # type: ignore[arg-type]
    assert info.value.__cause__ is quota

    garbled = AIMessage(
        "",
        additional_kwargs={
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{"}}
            ]
        },
    )
    with pytest.raises(ModelResponseError, match="could not parse: 'add'"):
        LangChainChatModel(ReplayChatModel(replies=[garbled])).chat([Message("user", "hi")])


def test_wrong_models_and_tools_are_refused_with_a_hint() -> None:
    with pytest.raises(AgentDefinitionError, match="or be a LangChain BaseChatModel"):
        Agent("a", "x", object())  # type: ignore[arg-type]
    model = ReplayChatModel(replies=[])
    with pytest.raises(AgentDefinitionError, match="plain functions or LangChain tools"):
        Agent("a", "x", model, tools=[42])  # type: ignore[arg-type]
    with pytest.raises(AgentDefinitionError, match="must be a sequence of tools"):
        Agent("a", "x", model, tools=add)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="wraps a langchain_core BaseChatModel"):
        LangChainChatModel(object())  # type: ignore[arg-type]

    # GenericFakeChatModel does not implement bind_tools.
    no_tools = GenericFakeChatModel(messages=iter([AIMessage("hello")]))
    with pytest.raises(AgentDefinitionError, match="GenericFakeChatModel cannot take tools"):
        Agent("a", "x", no_tools, tools=[add])  # type: ignore[arg-type]
    wrapped = LangChainChatModel(no_tools)
    assert not wrapped.supports_tools
    spec = tool_from_langchain(add)
    with pytest.raises(ModelConfigError, match="GenericFakeChatModel cannot take tools"):
        wrapped.chat([Message("user", "hi")], [spec])
    assert wrapped.chat([Message("user", "hi")]).message.content == "hello"
    assert repr(wrapped) == "LangChainChatModel(GenericFakeChatModel)"


def test_importing_agents_does_not_import_langchain() -> None:
    code = "import sys, agents; print(any(m.startswith('langchain') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
