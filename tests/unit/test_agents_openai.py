"""OpenAIChatModel against a real HTTP server started on 127.0.0.1 for each test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agents import ChatModel, Message, OpenAIChatModel, ToolCall, ToolSpec, Usage, tool
from agents.errors import ModelConfigError, ModelError, ModelHTTPError, ModelResponseError
from memory.errors import ColonyError, InvalidInputError


@dataclass
class Reply:
    """What the fake endpoint does for one request."""

    status: int = 200
    body: bytes | dict[str, Any] = b""
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


@dataclass
class FakeEndpoint:
    url: str
    replies: list[Reply] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)


def completion(content: str | None, tool_calls: list[dict[str, Any]] | None = None) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEndpoint]:
    # A proxy from the environment would send our 127.0.0.1 requests elsewhere.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    state = FakeEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            state.seen.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "json": payload}
            )
            reply = state.replies.pop(0) if state.replies else Reply(500, b"no reply scripted")
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                self.connection.close()
                return
            body = reply.body
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval keeps shutdown (and so each test) fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        state.url = f"http://{host}:{port}/v1"
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make(endpoint: FakeEndpoint, **kwargs: Any) -> OpenAIChatModel:
    options: dict[str, Any] = {"api_key": "sk-test", "backoff": 0.0, "timeout": 5.0}
    options.update(kwargs)
    return OpenAIChatModel("test-model", base_url=endpoint.url, **options)


def test_plain_reply_and_usage(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append(Reply(body=completion("Hello there")))
    model = make(endpoint)
    assert isinstance(model, ChatModel)
    response = model.chat([Message("system", "be brief"), Message("user", "hi")])
    assert response.message == Message("assistant", "Hello there")
    assert response.usage == Usage(11, 7)
    assert model.usage.total_tokens == 18
    seen = endpoint.seen[0]
    assert seen["path"] == "/v1/chat/completions"
    assert seen["auth"] == "Bearer sk-test"
    assert seen["json"]["model"] == "test-model"
    assert seen["json"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert "tools" not in seen["json"]
    assert model.requests_sent == 1 and model.retries == 0


def test_tool_call_reply_and_tool_round_trip(endpoint: FakeEndpoint) -> None:
    @tool
    def weather(city: str, days: int = 1) -> str:
        """Forecast the weather.

        Args:
            city: City name.
            days: How many days ahead.
        """
        return f"{city}: sunny for {days}"

    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo", "days": 2})},
    }
    endpoint.replies += [Reply(body=completion(None, [call])), Reply(body=completion("Sunny."))]
    model = make(endpoint)
    first = model.chat([Message("user", "weather in Oslo?")], tools=[weather])
    assert first.message.content == ""
    assert first.message.tool_calls == (ToolCall("call_1", "weather", {"city": "Oslo", "days": 2}),)
    sent_tools = endpoint.seen[0]["json"]["tools"]
    assert sent_tools == [weather.to_openai()]
    assert sent_tools[0]["function"]["parameters"]["required"] == ["city"]

    result = weather.call(first.message.tool_calls[0].arguments)
    history = [
        Message("user", "weather in Oslo?"),
        first.message,
        Message("tool", result, tool_call_id="call_1", name="weather"),
    ]
    second = model.chat(history, tools=[weather])
    assert second.message.content == "Sunny."
    sent = endpoint.seen[1]["json"]["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": json.dumps({"city": "Oslo", "days": 2}),
    }
    assert sent[2] == {
        "role": "tool",
        "content": "Oslo: sunny for 2",
        "tool_call_id": "call_1",
        "name": "weather",
    }
    assert model.usage == Usage(22, 14)


def test_server_error_is_retried_with_backoff(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [
        Reply(500, {"error": {"message": "overloaded"}}),
        Reply(429, {"error": {"message": "slow down"}}),
        Reply(body=completion("ok")),
    ]
    waits: list[float] = []
    model = make(endpoint, backoff=0.25, sleep=waits.append)
    assert model.chat([Message("user", "hi")]).message.content == "ok"
    assert model.retries == 2 and model.requests_sent == 3
    assert waits == [0.25, 0.5]  # exponential
    assert len(endpoint.seen) == 3


def test_retries_exhausted_names_status_and_message(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [Reply(503, {"error": {"message": "try later"}})] * 3
    model = make(endpoint, max_retries=2)
    with pytest.raises(ModelHTTPError) as info:
        model.chat([Message("user", "hi")])
    assert info.value.status == 503
    assert "503" in str(info.value) and "try later" in str(info.value)
    assert model.requests_sent == 3


def test_client_error_is_not_retried(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [
        Reply(400, {"error": {"message": "messages must not be empty"}}),
        Reply(body=completion("never sent")),
    ]
    model = make(endpoint)
    with pytest.raises(ModelHTTPError) as info:
        model.chat([])
    assert info.value.status == 400
    assert "400" in str(info.value) and "messages must not be empty" in str(info.value)
    assert isinstance(info.value, ColonyError)
    assert model.requests_sent == 1 and model.retries == 0
    assert len(endpoint.seen) == 1


def test_non_json_error_body_is_quoted(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append(Reply(404, b"<html>no such route</html>"))
    with pytest.raises(ModelHTTPError, match=r"404.*no such route"):
        make(endpoint).chat([Message("user", "hi")])


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b'{"choices": []}', b'{"no": "choices"}'],
)
def test_bad_reply_is_a_clear_error(endpoint: FakeEndpoint, body: bytes) -> None:
    endpoint.replies.append(Reply(200, body))
    model = make(endpoint)
    with pytest.raises(ModelResponseError, match="not a chat completion"):
        model.chat([Message("user", "hi")])
    assert model.retries == 0


def test_bad_tool_arguments_from_server(endpoint: FakeEndpoint) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    endpoint.replies.append(Reply(body=completion(None, [call])))
    with pytest.raises(ModelResponseError, match="not a chat completion"):
        make(endpoint).chat([Message("user", "hi")])


def test_dropped_connection_is_retried(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [Reply(drop=True), Reply(body=completion("back"))]
    model = make(endpoint)
    assert model.chat([Message("user", "hi")]).message.content == "back"
    assert model.retries == 1


def test_timeout_is_retried_then_reported(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [Reply(body=completion("late"), delay=0.6), Reply(body=completion("ok"))]
    model = make(endpoint, timeout=0.2)
    assert model.chat([Message("user", "hi")]).message.content == "ok"
    assert model.retries == 1

    endpoint.replies += [Reply(body=completion("late"), delay=0.6)] * 2
    slow = make(endpoint, timeout=0.2, max_retries=1)
    with pytest.raises(ModelError, match=r"could not reach model endpoint.*2 attempt"):
        slow.chat([Message("user", "hi")])


def test_empty_api_key_sends_no_authorization(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append(Reply(body=completion("ok")))
    make(endpoint, api_key="").chat([Message("user", "hi")])
    assert endpoint.seen[0]["auth"] is None


def test_settings_from_environment(endpoint: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/unused")
    monkeypatch.setenv("COLONY_OPENAI_BASE_URL", endpoint.url + "/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    endpoint.replies.append(Reply(body=completion("ok")))
    model = OpenAIChatModel("m", backoff=0.0)
    assert model.base_url == endpoint.url
    model.chat([Message("user", "hi")])
    assert endpoint.seen[0]["auth"] == "Bearer sk-env"
    assert "sk-env" not in repr(model)
    explicit = OpenAIChatModel("m", base_url="https://example.invalid/v1", api_key="sk-arg")
    assert explicit.base_url == "https://example.invalid/v1"


def test_default_url_and_missing_key_fail_only_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("COLONY_OPENAI_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    model = OpenAIChatModel("gpt-x")  # no key needed to build it
    assert model.base_url == "https://api.openai.com/v1"
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        model.chat([Message("user", "hi")])
    assert model.requests_sent == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"max_retries": -1},
        {"backoff": -1.0},
        {"base_url": "ftp://x"},
    ],
)
def test_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        OpenAIChatModel("m", api_key="k", **kwargs)
    with pytest.raises(InvalidInputError, match="model"):
        OpenAIChatModel("", api_key="k")


def test_toolspec_is_the_tools_type() -> None:
    def noop() -> None:
        """Do nothing."""

    assert ToolSpec.from_function(noop).to_openai()["function"]["parameters"]["properties"] == {}
