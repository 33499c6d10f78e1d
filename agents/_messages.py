"""Records exchanged with a chat model: messages, tool calls, responses, token usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from memory.errors import InvalidInputError

__all__ = ["ChatResponse", "Message", "Role", "ToolCall", "Usage"]

Role = Literal["system", "user", "assistant", "tool"]
_ROLES: frozenset[str] = frozenset(("system", "user", "assistant", "tool"))


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run one tool.

    Attributes:
        id: The id the model gave the call; the tool's reply message quotes it.
        name: Name of the tool.
        arguments: Decoded JSON arguments.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInputError(f"ToolCall.name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.arguments, dict):
            raise InvalidInputError(
                f"ToolCall.arguments must be a dict, got {type(self.arguments).__name__}"
            )


@dataclass(frozen=True)
class Message:
    """One chat message.

    Attributes:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        content: The text (empty for an assistant message that only calls tools).
        tool_calls: Tools an assistant message asks to run.
        tool_call_id: For a ``tool`` message, the id of the call it answers.
        name: Optional name of the author (or of the tool, for a ``tool`` message).
    """

    role: Role
    content: str
    # Any sequence is accepted; it is stored as a tuple so the record stays immutable.
    tool_calls: Sequence[ToolCall] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise InvalidInputError(
                f"Message.role must be one of {sorted(_ROLES)}, got {self.role!r}"
            )
        if not isinstance(self.content, str):
            raise InvalidInputError(
                f"Message.content must be a string, got {type(self.content).__name__}"
            )
        # Accept a list for convenience; store a tuple so the record stays immutable.
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        if self.tool_calls and self.role != "assistant":
            raise InvalidInputError(
                f"only assistant messages carry tool_calls, got role {self.role!r}"
            )
        if self.role == "tool" and not self.tool_call_id:
            raise InvalidInputError("a tool message needs the tool_call_id of the call it answers")


@dataclass(frozen=True)
class Usage:
    """Tokens one request consumed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True)
class ChatResponse:
    """A model's reply: one assistant message and the tokens it cost."""

    message: Message
    usage: Usage = field(default_factory=Usage)
