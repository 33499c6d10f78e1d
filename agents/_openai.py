"""A client for OpenAI-compatible chat-completions endpoints, on the standard library only.

Nothing is read or sent at import; settings resolve when the client is built, the API key is
required only when a request is made.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agents._messages import ChatResponse, Message, ToolCall, Usage
from agents._tools import ToolSpec
from agents.errors import ModelConfigError, ModelError, ModelHTTPError, ModelResponseError
from memory.errors import InvalidInputError

__all__ = ["DEFAULT_BASE_URL", "OpenAIChatModel"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Longer server messages are cut so an error stays readable.
_MAX_MESSAGE = 500
# A server's Retry-After is honoured up to this many seconds, so a bad header cannot stall a run.
_MAX_RETRY_AFTER = 30.0


def _message_to_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def _server_message(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
    text = text or "(empty body)"
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."


def _parse_response(body: bytes, url: str) -> ChatResponse:
    snippet = body[:200].decode("utf-8", errors="replace")
    try:
        data = json.loads(body)
        choice = data["choices"][0]["message"]
        raw_calls = choice.get("tool_calls") or []
        calls = []
        for raw in raw_calls:
            function = raw["function"]
            arguments = function.get("arguments") or "{}"
            decoded = json.loads(arguments) if isinstance(arguments, str) else arguments
            if not isinstance(decoded, dict):
                raise TypeError(f"arguments of tool call {raw.get('id')!r} are not an object")
            calls.append(ToolCall(str(raw["id"]), str(function["name"]), decoded))
        message = Message("assistant", choice.get("content") or "", tuple(calls))
        usage_data = data.get("usage") or {}
        usage = Usage(
            int(usage_data.get("prompt_tokens") or 0),
            int(usage_data.get("completion_tokens") or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ModelResponseError(
            f"model endpoint {url} sent a reply that is not a chat completion "
            f"({type(exc).__name__}: {exc}); body starts {snippet!r}"
        ) from exc
    return ChatResponse(message, usage)


class OpenAIChatModel:
    """A :class:`~agents.ChatModel` for any OpenAI-compatible chat-completions endpoint.

    Settings, in order of precedence: the arguments, then ``COLONY_OPENAI_BASE_URL`` /
    ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, then the OpenAI default URL. Connection
    errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff; other 4xx are not.

    Attributes:
        usage: Tokens used by every successful request so far.
        requests_sent: HTTP requests sent, retries included.
        retries: Requests that were retries.
    """

    # gen_ai.provider.name of its spans: the API it speaks (the server may host any model).
    provider_name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the client; no request is made.

        Args:
            model: Model name sent with each request.
            base_url: Endpoint root (``.../v1``); ``/chat/completions`` is appended.
            api_key: Bearer token; an empty string sends no Authorization header (local
                servers that need none).
            timeout: Seconds to wait for each HTTP request.
            max_retries: Retries after the first attempt.
            backoff: Seconds before the first retry; doubles after each.
            sleep: Waits between retries (injected so tests need not wait).

        Raises:
            InvalidInputError: A setting is out of range.
        """
        if not isinstance(model, str) or not model.strip():
            raise InvalidInputError(f"model must be a non-empty string, got {model!r}")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise InvalidInputError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise InvalidInputError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if not isinstance(backoff, int | float) or isinstance(backoff, bool) or backoff < 0:
            raise InvalidInputError(f"backoff must be a number >= 0, got {backoff!r}")
        env = os.environ
        resolved_url = (
            base_url
            or env.get("COLONY_OPENAI_BASE_URL")
            or env.get("OPENAI_BASE_URL")
            or DEFAULT_BASE_URL
        )
        if not resolved_url.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"base_url must start with http:// or https://, got {resolved_url!r}"
            )
        self.model = model
        self.base_url = resolved_url.rstrip("/")
        self._api_key = api_key if api_key is not None else env.get("OPENAI_API_KEY")
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self._sleep = sleep
        self._lock = threading.Lock()
        self.usage = Usage()
        self.requests_sent = 0
        self.retries = 0

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChatModel(model={self.model!r}, base_url={self.base_url!r})"

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Send one chat-completions request and return the assistant's message.

        Raises:
            ModelConfigError: No API key was given or found in ``OPENAI_API_KEY``.
            ModelHTTPError: The endpoint answered with an error status (after retries for
                429 and 5xx).
            ModelResponseError: The reply was not a chat completion.
            ModelError: The endpoint could not be reached within the retries.
        """
        if self._api_key is None:
            raise ModelConfigError(
                f"no API key for {self.base_url}: pass api_key=... or set OPENAI_API_KEY "
                "(api_key='' for a server that needs none)"
            )
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [_message_to_json(m) for m in messages],
        }
        if tools:
            payload["tools"] = [t.to_openai() for t in tools]
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        body = self._post(url, json.dumps(payload).encode("utf-8"), headers)
        response = _parse_response(body, url)
        with self._lock:
            self.usage = self.usage + response.usage
        return response

    def _post(self, url: str, data: bytes, headers: Mapping[str, str]) -> bytes:
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            with self._lock:
                self.requests_sent += 1
                if attempt:
                    self.retries += 1
            request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")
            wait = delay
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return bytes(reply.read())
            except urllib.error.HTTPError as exc:
                status = exc.code
                error = ModelHTTPError(status, _server_message(exc.read()), url)
                if status != 429 and status < 500:
                    raise error from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after:
                    # An HTTP-date Retry-After is not a number: keep our own backoff then.
                    with contextlib.suppress(ValueError):
                        wait = max(wait, min(float(retry_after), _MAX_RETRY_AFTER))
                last: ModelError = error
            except (OSError, http.client.HTTPException) as exc:
                # URLError, timeouts, refused or dropped connections: all worth another try.
                reason = getattr(exc, "reason", exc)
                last = ModelError(
                    f"could not reach model endpoint {url} after {attempt + 1} attempt(s): "
                    f"{reason}; check base_url and that the server is up"
                )
            if attempt < self.max_retries:
                self._sleep(wait)
                delay *= 2
        raise last
