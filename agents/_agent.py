"""The definition of one agent: its instructions, model, tools and memory scope."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents._langchain import (
    LangChainChatModel,
    is_langchain_chat_model,
    is_langchain_tool,
    tool_from_langchain,
)
from agents._models import ChatModel
from agents._tools import ToolSpec
from agents.errors import AgentDefinitionError
from memory import Namespace, validate_namespace
from memory.errors import InvalidNamespaceError

__all__ = ["Agent"]

# MemoryService.search accepts k up to this many hits.
_MAX_MEMORY_K = 1000


def _positive_int(field_name: str, value: object, *, upper: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise AgentDefinitionError(f"Agent.{field_name} must be an int >= 1, got {value!r}")
    if upper is not None and value > upper:
        raise AgentDefinitionError(f"Agent.{field_name} must be <= {upper}, got {value!r}")


def _namespace(field_name: str, value: object) -> Namespace:
    try:
        return validate_namespace(value)
    except InvalidNamespaceError as exc:
        raise AgentDefinitionError(f"Agent.{field_name}: {exc}") from exc


def _tool(value: ToolSpec | Callable[..., Any]) -> ToolSpec:
    if isinstance(value, ToolSpec):
        return value
    if is_langchain_tool(value):
        return tool_from_langchain(value)
    if callable(value):
        return ToolSpec.from_function(value)
    raise AgentDefinitionError(
        "Agent.tools entries must be ToolSpec objects, plain functions or LangChain tools, "
        f"got {value!r}"
    )


@dataclass(frozen=True)
class Agent:
    """One agent: what it is told, which model answers it, and what it may use.

    Attributes:
        name: A namespace label (letters, digits, ``_ - . : @``); with the team it names the
            agent's memory principal and its private namespace ``("agent", team, name)``.
        instructions: The system message.
        model: The injected chat model; a LangChain ``BaseChatModel`` is wrapped in
            :class:`LangChainChatModel`.
        tools: Tools the model may call; plain functions are converted with
            :meth:`ToolSpec.from_function`, LangChain tools with :func:`tool_from_langchain`.
        reads: Shared-memory namespaces searched for every task.
        writes: Namespace the final answer is stored in (interaction tier), if any.
        working_budget_tokens: Size of the private working memory.
        max_steps: Most model requests in one run.
        memory_k: Hits taken from each namespace in ``reads``.
        memory_budget_words: If set, what the agent recalls is a context of at most this
            many words: the ``memory_k`` best hits of each namespace in ``reads``, merged
            best first and taken while they fit (``MemoryService.search(budget_words=...)``;
            ``colony bench locomo`` measures recall so, with 200 hits and 300 words).

    Raises:
        AgentDefinitionError: A field has a bad value (the message names it), or tools are
            given to a LangChain model that cannot bind tools.
        ToolDefinitionError: A function or LangChain tool in ``tools`` cannot be described as
            a tool.
    """

    name: str
    instructions: str
    model: ChatModel
    # Typed for what callers may pass; after construction it always holds ToolSpec objects.
    tools: Sequence[ToolSpec | Callable[..., Any]] = ()
    reads: tuple[Namespace, ...] = ()
    writes: Namespace | None = None
    working_budget_tokens: int = 2000
    max_steps: int = 8
    memory_k: int = 5
    memory_budget_words: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise AgentDefinitionError(f"Agent.name must be a str, got {self.name!r}")
        _namespace("name", (self.name,))
        if not isinstance(self.instructions, str):
            raise AgentDefinitionError(
                f"Agent.instructions must be a str, got {type(self.instructions).__name__}"
            )
        model = self.model
        if is_langchain_chat_model(model):
            model = LangChainChatModel(model)
        if not isinstance(model, ChatModel):
            raise AgentDefinitionError(
                "Agent.model must have a chat(messages, tools) method or be a LangChain "
                f"BaseChatModel, got {model!r}"
            )
        if (
            isinstance(self.tools, str | ToolSpec)
            or callable(self.tools)
            or is_langchain_tool(self.tools)
        ):
            raise AgentDefinitionError(
                f"Agent.tools must be a sequence of tools, got {self.tools!r}; wrap it in a tuple"
            )
        tools = tuple(_tool(t) for t in self.tools)
        names = [t.name for t in tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise AgentDefinitionError(
                f"Agent.tools has several tools named {duplicates}; give each a distinct name"
            )
        if tools and isinstance(model, LangChainChatModel) and not model.supports_tools:
            raise AgentDefinitionError(
                f"Agent.model {type(model.model).__name__} cannot take tools (LangChain "
                "bind_tools is not implemented); use a model that supports tool calling "
                "or give the agent no tools"
            )
        if isinstance(self.reads, str) or (
            self.reads and all(isinstance(label, str) for label in self.reads)
        ):
            raise AgentDefinitionError(
                f"Agent.reads must be a sequence of namespaces, got {self.reads!r}; "
                "write reads=(('team', 'x'),) for a single namespace"
            )
        reads = tuple(_namespace("reads", ns) for ns in self.reads)
        writes = None if self.writes is None else _namespace("writes", self.writes)
        _positive_int("working_budget_tokens", self.working_budget_tokens)
        _positive_int("max_steps", self.max_steps)
        _positive_int("memory_k", self.memory_k, upper=_MAX_MEMORY_K)
        if self.memory_budget_words is not None:
            _positive_int("memory_budget_words", self.memory_budget_words)
        object.__setattr__(self, "model", model)
        # Lists are accepted for convenience; tuples keep the record immutable.
        object.__setattr__(self, "tools", tools)
        object.__setattr__(self, "reads", reads)
        object.__setattr__(self, "writes", writes)
