"""Errors raised by :mod:`agents`.

Every error derives from :class:`memory.errors.ColonyError`. Errors are split by audience:
developer misuse (bad arguments, a function that cannot be a tool), run-time failures of a
model endpoint, and messages meant for the model (bad tool arguments it can correct). The tree::

    ColonyError
    ├── InvalidInputError (ValueError)        a caller passed a bad value
    │   ├── AgentDefinitionError              an Agent was given a bad field value
    │   ├── ToolDefinitionError               a function cannot be described as a tool
    │   └── ToolArgumentError                 a tool got arguments that do not fit its hints
    ├── ScriptExhaustedError                  a ScriptedModel was asked more than its script holds
    └── ModelError                            a chat-model request failed
        ├── ModelConfigError                  no API key (or other setting) for the endpoint
        ├── ModelHTTPError                    the endpoint answered with an error status
        └── ModelResponseError                the endpoint's reply could not be read

Messages name what was wrong, the offending value, and what to do about it.
"""

from __future__ import annotations

from memory.errors import ColonyError, InvalidInputError

__all__ = [
    "AgentDefinitionError",
    "ModelConfigError",
    "ModelError",
    "ModelHTTPError",
    "ModelResponseError",
    "ScriptExhaustedError",
    "ToolArgumentError",
    "ToolDefinitionError",
]


class AgentDefinitionError(InvalidInputError):
    """An :class:`~agents.Agent` field has a bad value; the message names the field."""


class ToolDefinitionError(InvalidInputError):
    """A function's signature or hints cannot be turned into a tool schema."""


class ToolArgumentError(InvalidInputError):
    """Arguments for a tool are missing, unknown, or of the wrong type.

    The message is written so it can be returned to the model, which may retry.
    """

    def __init__(self, tool: str, argument: str | None, value: object, reason: str) -> None:
        self.tool = tool
        self.argument = argument
        self.value = value
        self.reason = reason
        where = f"argument {argument!r}" if argument is not None else "arguments"
        super().__init__(f"tool {tool!r}: {where} = {value!r}: {reason}")

    def __reduce__(self) -> tuple[type[ToolArgumentError], tuple[str, str | None, object, str]]:
        # Crosses process boundaries (Ray) with its fields intact.
        return (type(self), (self.tool, self.argument, self.value, self.reason))


class ScriptExhaustedError(ColonyError):
    """A :class:`~agents.ScriptedModel` received more requests than it has responses."""


class ModelError(ColonyError):
    """A request to a chat model failed."""


class ModelConfigError(ModelError):
    """The model client is missing a setting it needs to make a request (e.g. an API key)."""


class ModelHTTPError(ModelError):
    """The model endpoint answered with an HTTP error status."""

    def __init__(self, status: int, message: str, url: str) -> None:
        self.status = status
        self.server_message = message
        self.url = url
        super().__init__(f"model endpoint {url} answered HTTP {status}: {message}")

    def __reduce__(self) -> tuple[type[ModelHTTPError], tuple[int, str, str]]:
        return (type(self), (self.status, self.server_message, self.url))


class ModelResponseError(ModelError):
    """The model endpoint's reply was not the JSON a chat completion should be."""
