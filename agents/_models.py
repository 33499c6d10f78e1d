"""The chat-model seam and the scripted model that tests and offline runs use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agents._messages import ChatResponse, Message, Usage
from agents._tools import ToolSpec
from agents.errors import ScriptExhaustedError
from memory.errors import InvalidInputError

__all__ = ["ChatModel", "ChatRequest", "FunctionModel", "ScriptStep", "ScriptedModel"]


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers a list of messages, optionally offering tools."""

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Return the model's next message for ``messages``.

        Args:
            messages: The conversation so far, oldest first.
            tools: Tools the model may ask to call.
        """
        ...


@dataclass(frozen=True)
class ChatRequest:
    """One request a :class:`ScriptedModel` received."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]


ScriptStep = ChatResponse | str | Callable[[Sequence[Message]], ChatResponse | str]


def _words(text: str) -> int:
    return len(text.split())


def _as_response(step: ChatResponse | str, messages: Sequence[Message]) -> ChatResponse:
    if isinstance(step, ChatResponse):
        return step
    if isinstance(step, str):
        # Word counts stand in for tokens so budgets and usage totals stay meaningful offline.
        prompt = sum(_words(m.content) for m in messages)
        return ChatResponse(Message("assistant", step), Usage(prompt, _words(step)))
    raise InvalidInputError(
        f"a ScriptedModel step must give a ChatResponse or a str, got {type(step).__name__}"
    )


class ScriptedModel:
    """A :class:`ChatModel` that replays a fixed script, for tests and offline runs.

    Each request consumes the next step: a :class:`ChatResponse`, a string (an assistant
    message), or a callable that receives the messages and returns either. Every request is
    recorded in :attr:`requests`.
    """

    provider_name = "colony.scripted"  # gen_ai.provider.name of its spans

    def __init__(self, responses: Sequence[ScriptStep]) -> None:
        """Create the model.

        Args:
            responses: The steps, in the order requests will consume them.

        Raises:
            InvalidInputError: A step is not a ChatResponse, a str or a callable.
        """
        if isinstance(responses, str | ChatResponse):
            raise InvalidInputError(
                "ScriptedModel takes a sequence of steps; wrap a single reply in a list"
            )
        steps = list(responses)
        for i, step in enumerate(steps):
            if not (isinstance(step, ChatResponse | str) or callable(step)):
                raise InvalidInputError(
                    f"ScriptedModel step {i} must be a ChatResponse, a str or a callable, "
                    f"got {type(step).__name__}"
                )
        self._steps = steps
        self._next = 0
        self._lock = threading.Lock()
        self.requests: list[ChatRequest] = []

    def __getstate__(self) -> dict[str, object]:
        # A lock cannot be pickled; a copy sent to a Ray actor gets its own.
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """How many steps have not been used yet."""
        return len(self._steps) - self._next

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Record the request and answer with the next step of the script.

        Raises:
            ScriptExhaustedError: Every step has been used.
        """
        request = ChatRequest(tuple(messages), tuple(tools))
        with self._lock:
            self.requests.append(request)
            if self._next >= len(self._steps):
                raise ScriptExhaustedError(
                    f"ScriptedModel got request {len(self.requests)} but its script has only "
                    f"{len(self._steps)} step(s); add responses for every expected model call"
                )
            step = self._steps[self._next]
            self._next += 1
        if isinstance(step, ChatResponse | str):
            return _as_response(step, request.messages)
        return _as_response(step(request.messages), request.messages)


class FunctionModel:
    """A :class:`ChatModel` backed by a function: it answers as many requests as it gets.

    The function receives the messages and the offered tools and returns a
    :class:`ChatResponse` or a string (an assistant message). Use it for offline teams that
    run many tasks; :class:`ScriptedModel` for tests that expect an exact sequence of calls.
    """

    provider_name = "colony.function"  # gen_ai.provider.name of its spans

    def __init__(
        self, fn: Callable[[Sequence[Message], Sequence[ToolSpec]], ChatResponse | str]
    ) -> None:
        """Create the model.

        Raises:
            InvalidInputError: ``fn`` is not callable.
        """
        if not callable(fn):
            raise InvalidInputError(f"FunctionModel needs a function, got {fn!r}")
        self.fn = fn

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Answer with whatever the function returns for these messages and tools."""
        return _as_response(self.fn(messages, tools), messages)
