"""Message records and the ScriptedModel."""

from __future__ import annotations

import pickle
from collections.abc import Sequence

import pytest

import agents
from agents import (
    ChatModel,
    ChatResponse,
    Message,
    ScriptedModel,
    ToolCall,
    Usage,
    tool,
)
from agents.errors import ModelHTTPError, ScriptExhaustedError, ToolArgumentError
from memory.errors import ColonyError, InvalidInputError


def test_message_records_are_frozen_and_checked() -> None:
    call = ToolCall("c1", "lookup", {"q": "x"})
    message = Message("assistant", "", [call])  # type: ignore[arg-type]
    assert message.tool_calls == (call,)
    with pytest.raises(AttributeError):
        message.content = "changed"  # type: ignore[misc]
    with pytest.raises(InvalidInputError, match="role"):
        Message("robot", "hi")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="content"):
        Message("user", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="tool_call_id"):
        Message("tool", "result")
    with pytest.raises(InvalidInputError, match="only assistant"):
        Message("user", "hi", (call,))
    with pytest.raises(InvalidInputError, match="arguments"):
        ToolCall("c", "f", "{}")  # type: ignore[arg-type]
    assert Usage(3, 4) + Usage(1, 1) == Usage(4, 5)
    assert Usage(3, 4).total_tokens == 7


def test_scripted_model_replays_and_records() -> None:
    @tool
    def lookup(q: str) -> str:
        """Look something up."""
        return q

    def echo(messages: Sequence[Message]) -> ChatResponse:
        return ChatResponse(Message("assistant", messages[-1].content.upper()), Usage(1, 1))

    scripted = ChatResponse(
        Message("assistant", "", (ToolCall("c1", "lookup", {"q": "x"}),)), Usage(5, 2)
    )
    model = ScriptedModel([scripted, "plain words here", echo, lambda _: "from lambda"])
    assert isinstance(model, ChatModel)
    assert model.remaining == 4
    first = model.chat([Message("user", "find x")], tools=[lookup])
    assert first is scripted
    second = model.chat([Message("user", "two words")])
    assert second.message == Message("assistant", "plain words here")
    assert second.usage == Usage(2, 3)  # words stand in for tokens offline
    assert model.chat([Message("user", "shout")]).message.content == "SHOUT"
    assert model.chat([Message("user", "x")]).message.content == "from lambda"
    assert model.remaining == 0
    assert len(model.requests) == 4
    assert model.requests[0].tools == (lookup,)
    assert model.requests[1].messages == (Message("user", "two words"),)

    with pytest.raises(ScriptExhaustedError, match=r"request 5.*only 4 step") as info:
        model.chat([Message("user", "more?")])
    assert isinstance(info.value, ColonyError)
    assert len(model.requests) == 5  # the failed request is recorded too


def test_scripted_model_rejects_bad_scripts() -> None:
    with pytest.raises(InvalidInputError, match="wrap a single reply"):
        ScriptedModel("hello")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="step 1"):
        ScriptedModel(["ok", 42])  # type: ignore[list-item]
    model = ScriptedModel([lambda _: 42])  # type: ignore[list-item, return-value]
    with pytest.raises(InvalidInputError, match="ChatResponse or a str"):
        model.chat([Message("user", "hi")])


def test_errors_survive_pickling() -> None:
    # Errors cross Ray actor boundaries; their fields must come back intact.
    http = pickle.loads(pickle.dumps(ModelHTTPError(503, "busy", "http://h/v1")))
    assert (http.status, http.server_message, str(http)) == (
        503,
        "busy",
        "model endpoint http://h/v1 answered HTTP 503: busy",
    )
    arg = pickle.loads(pickle.dumps(ToolArgumentError("t", "a", 1, "bad")))
    assert (arg.tool, arg.argument, arg.value, str(arg)) == (
        "t",
        "a",
        1,
        "tool 't': argument 'a' = 1: bad",
    )


def test_public_names() -> None:
    public = {name for name in vars(agents) if not name.startswith("_")}
    submodules = {n for n in public if type(vars(agents)[n]).__name__ == "module"}
    assert set(agents.__all__) == public - submodules
    assert sorted(agents.__all__) == agents.__all__


def test_scripted_model_pickles_with_its_progress_for_actors() -> None:
    import pickle

    model = ScriptedModel(["one", "two"])
    model.chat([Message("user", "hi")])
    copy = pickle.loads(pickle.dumps(model))
    assert copy.remaining == 1 and len(copy.requests) == 1
    assert copy.chat([Message("user", "again")]).message.content == "two"
    assert model.remaining == 1  # the original is untouched
