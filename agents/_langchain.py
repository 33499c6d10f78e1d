"""LangChain chat models and tools, used as-is by an :class:`~agents.Agent`.

``langchain_core`` is imported only when a LangChain object is converted: importing it costs
more than the rest of :mod:`agents`, and a caller who holds a LangChain object has already paid
for it. Messages and tools map as they do for the OpenAI wire format (see ``_openai.py``).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from agents._messages import ChatResponse, Message, ToolCall, Usage
from agents._tools import ToolSpec
from agents.errors import (
    ModelConfigError,
    ModelError,
    ModelResponseError,
    ToolArgumentError,
    ToolDefinitionError,
)
from memory.errors import InvalidInputError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.tools import BaseTool

__all__ = [
    "LangChainChatModel",
    "is_langchain_chat_model",
    "is_langchain_tool",
    "tool_from_langchain",
]


def _loaded_class(module: str, name: str) -> type | None:
    loaded = sys.modules.get(module)
    return getattr(loaded, name, None) if loaded is not None else None


def is_langchain_chat_model(value: object) -> TypeGuard[BaseChatModel]:
    """Whether ``value`` is a LangChain ``BaseChatModel`` (without importing LangChain)."""
    cls = _loaded_class("langchain_core.language_models.chat_models", "BaseChatModel")
    return cls is not None and isinstance(value, cls)


def is_langchain_tool(value: object) -> TypeGuard[BaseTool]:
    """Whether ``value`` is a LangChain ``BaseTool`` (without importing LangChain)."""
    cls = _loaded_class("langchain_core.tools.base", "BaseTool")
    return cls is not None and isinstance(value, cls)


def _to_langchain(message: Message) -> BaseMessage:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    name = {"name": message.name} if message.name is not None else {}
    if message.role == "system":
        return SystemMessage(message.content, **name)
    if message.role == "user":
        return HumanMessage(message.content, **name)
    if message.role == "assistant":
        calls = [{"id": c.id, "name": c.name, "args": c.arguments} for c in message.tool_calls]
        return AIMessage(message.content, tool_calls=calls, **name)
    return ToolMessage(message.content, tool_call_id=message.tool_call_id, **name)


def _text(content: str | list[str | dict[Any, Any]]) -> str:
    if isinstance(content, str):
        return content
    # Content blocks: keep the text ones; reasoning, images and the like are not our messages.
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def _from_langchain(reply: object, model_name: str) -> ChatResponse:
    from langchain_core.messages import AIMessage

    if not isinstance(reply, AIMessage):
        raise ModelResponseError(
            f"LangChain model {model_name} returned {type(reply).__name__}, not an AIMessage"
        )
    if reply.invalid_tool_calls:
        bad = reply.invalid_tool_calls[0]
        raise ModelResponseError(
            f"LangChain model {model_name} sent a tool call it could not parse: "
            f"{bad.get('name')!r} with arguments {bad.get('args')!r} ({bad.get('error')})"
        )
    calls = tuple(
        ToolCall(call.get("id") or f"call_{uuid.uuid4().hex[:24]}", call["name"], call["args"])
        for call in reply.tool_calls
    )
    usage = reply.usage_metadata
    return ChatResponse(
        Message("assistant", _text(reply.content), calls),
        Usage(usage["input_tokens"], usage["output_tokens"]) if usage else Usage(),
    )


def _failure(model_name: str, step: str, exc: Exception) -> ModelError:
    return ModelError(f"LangChain model {model_name} failed in {step}: {type(exc).__name__}: {exc}")


class LangChainChatModel:
    """A :class:`~agents.ChatModel` backed by any LangChain ``BaseChatModel``.

    Tools are offered through the model's ``bind_tools`` in the OpenAI function format.
    :class:`~agents.Agent` wraps a LangChain model in this class by itself.

    Attributes:
        model: The wrapped LangChain chat model.
    """

    provider_name = "langchain"  # gen_ai.provider.name of its spans

    def __init__(self, model: BaseChatModel) -> None:
        """Wrap ``model``.

        Raises:
            InvalidInputError: ``model`` is not a LangChain ``BaseChatModel``.
        """
        if not is_langchain_chat_model(model):
            raise InvalidInputError(
                f"LangChainChatModel wraps a langchain_core BaseChatModel, got {model!r}"
            )
        self.model = model

    def __repr__(self) -> str:  # the wrapped model's repr can be long and hold settings
        return f"LangChainChatModel({type(self.model).__name__})"

    @property
    def supports_tools(self) -> bool:
        """Whether the wrapped model's class implements ``bind_tools``."""
        from langchain_core.language_models import BaseChatModel

        return type(self.model).bind_tools is not BaseChatModel.bind_tools

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Ask the LangChain model for its next message.

        Raises:
            ModelConfigError: Tools were offered but the model does not implement
                ``bind_tools``.
            ModelResponseError: The model's reply is not an AIMessage or has a tool call
                it could not parse.
            ModelError: The model raised; the original exception is the cause.
        """
        model_name = type(self.model).__name__
        request = [_to_langchain(m) for m in messages]
        runnable: Any = self.model
        if tools:
            try:
                runnable = self.model.bind_tools([t.to_openai() for t in tools])
            except NotImplementedError as exc:
                raise ModelConfigError(
                    f"LangChain model {model_name} cannot take tools (its bind_tools is not "
                    "implemented); use a chat model class that supports tool calling or give "
                    "the agent no tools"
                ) from exc
            except Exception as exc:
                raise _failure(model_name, "bind_tools", exc) from exc
        try:
            reply = runnable.invoke(request)
        except Exception as exc:  # any provider's failure becomes one error type for the host
            raise _failure(model_name, "invoke", exc) from exc
        return _from_langchain(reply, model_name)


def _argument_check(
    tool: BaseTool, name: str
) -> Callable[[Mapping[str, Any]], dict[str, Any]] | None:
    """A check of the model's arguments against the tool's pydantic schema, if it has one."""
    from pydantic import ValidationError

    schema = tool.tool_call_schema
    if isinstance(schema, dict) or not hasattr(schema, "model_validate"):
        return None  # a JSON-schema tool: ToolSpec checks required arguments

    def check(arguments: Mapping[str, Any]) -> dict[str, Any]:
        try:
            schema.model_validate(dict(arguments))
        except ValidationError as exc:
            errors = exc.errors()
            loc = errors[0]["loc"]
            argument = str(loc[0]) if loc else None
            value = arguments.get(argument) if argument is not None else arguments
            reason = "; ".join(
                f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" if len(e["loc"]) > 1 else e["msg"]
                for e in errors[:3]
            )
            raise ToolArgumentError(name, argument, value, reason) from None
        # The tool parses its own input; the check only keeps bad arguments from reaching it.
        return dict(arguments)

    return check


def tool_from_langchain(tool: BaseTool, *, name: str | None = None) -> ToolSpec:
    """Describe a LangChain tool as a :class:`ToolSpec`; calling it runs ``tool.invoke``.

    The schema is the one LangChain itself would send (``convert_to_openai_tool``). Arguments
    that do not fit the tool's pydantic schema raise :class:`ToolArgumentError`, which the host
    reports to the model.

    Args:
        tool: A ``langchain_core.tools.BaseTool`` (such as a ``@tool`` function).
        name: Tool name; defaults to ``tool.name``.

    Raises:
        ToolDefinitionError: ``tool`` is not a LangChain tool, or its name or schema cannot be
            used.
    """
    if not is_langchain_tool(tool):
        raise ToolDefinitionError(f"tool_from_langchain needs a LangChain BaseTool, got {tool!r}")
    from langchain_core.utils.function_calling import convert_to_openai_tool

    try:
        function = convert_to_openai_tool(tool)["function"]
    except (TypeError, ValueError, KeyError) as exc:
        raise ToolDefinitionError(
            f"LangChain tool {tool.name!r} has no usable JSON schema ({exc})"
        ) from exc
    tool_name = name if name is not None else tool.name
    parameters = function.get("parameters") or {"type": "object", "properties": {}}

    def run(**arguments: Any) -> Any:
        return tool.invoke(arguments)

    return ToolSpec.from_schema(
        tool_name,
        function.get("description") or "",
        parameters,
        run,
        check=_argument_check(tool, tool_name),
    )
