"""A real chat-completions endpoint on 127.0.0.1 whose replies are a function of each request.

Use it as a context manager; it records every request and stops in ``__exit__``::

    with ChatServer(lambda request: completion("hi")) as server:
        model = OpenAIChatModel("m", base_url=server.url, api_key="sk-test")

Replies may depend on the request (concurrent agents send requests in any order). If the
function raises, the client gets HTTP 400 (not retried) naming the error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ChatServer", "SeenRequest", "completion", "tool_call"]

Responder = Callable[[dict[str, Any]], dict[str, Any]]


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One entry of an assistant message's ``tool_calls``, in the wire format."""
    encoded = json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": encoded}}


def completion(
    content: str | None = None, calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A chat-completion body holding one assistant message (text, tool calls or both)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    reason = "tool_calls" if calls else "stop"
    return {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@dataclass(frozen=True)
class SeenRequest:
    """One request the server received."""

    path: str
    authorization: str | None
    body: dict[str, Any]


class ChatServer:
    """A threaded HTTP server speaking ``POST /v1/chat/completions`` on 127.0.0.1."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> ChatServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.loads(raw)
                with owner._lock:
                    owner.requests.append(
                        SeenRequest(self.path, self.headers.get("Authorization"), body)
                    )
                status, reply = 200, {}
                try:
                    reply = owner.respond(body)
                except Exception as exc:  # reported to the client, which fails the test
                    status, reply = 400, {"error": {"message": f"{type(exc).__name__}: {exc}"}}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/v1"
        # A short poll interval keeps shutdown fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
