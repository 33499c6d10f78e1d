"""Runs one agent's tool loop over its private working memory and the shared memory.

:class:`AgentHost` is a plain class; the runtime wraps it as a Ray actor at the edge.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from opentelemetry.trace import SpanKind, Status, StatusCode

from agents._agent import Agent
from agents._memory_view import AgentMemory
from agents._messages import ChatResponse, Message, ToolCall, Usage
from agents._tools import ToolSpec
from agents._working_memory import WorkingItem, WorkingMemory, count_words
from agents.errors import ToolArgumentError
from memory import (
    Action,
    MemoryService,
    Namespace,
    Principal,
    ScoredMemory,
    Tier,
    pack_within_budget,
)
from memory.errors import InvalidInputError, MemoryIdTakenError
from telemetry import Attr, capture_content, span
from telemetry._metrics import TOOL_CALLS, model_call

__all__ = ["AgentHost", "AgentResult"]

# Ids of the answers stored under a step's write key (uuid5 of "<team>/<write key>").
_WRITES = uuid.UUID("6f1c7a3e-2b4d-5e8f-9a0b-c1d2e3f4a5b6")


def _model_identity(model: object) -> tuple[str, str]:
    """``(gen_ai.provider.name, gen_ai.request.model)`` of a chat model, as far as it says."""
    provider = getattr(model, "provider_name", None)
    name = getattr(model, "model", None)
    if not isinstance(name, str):
        # A wrapped client (LangChain) names its model in one of these.
        name = getattr(name, "model_name", None) or getattr(name, "model", None)
    return (
        provider if isinstance(provider, str) else type(model).__name__,
        name if isinstance(name, str) else type(model).__name__,
    )


def _messages_json(messages: Sequence[Message]) -> str:
    """Messages in the GenAI conventions' JSON shape (role, parts), for content capture."""
    shaped = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        if message.content:
            parts.append({"type": "text", "content": message.content})
        parts.extend(
            {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
            for call in message.tool_calls
        )
        if message.role == "tool":
            response = {"id": message.tool_call_id, "result": message.content}
            parts = [{"type": "tool_call_response", **response}]
        shaped.append({"role": message.role, "parts": parts})
    return json.dumps(shaped, default=str)


@dataclass(frozen=True)
class AgentResult:
    """What one :meth:`AgentHost.run` produced.

    Attributes:
        output: The model's last answer (its last message's text when ``max_steps`` stopped it).
        status: ``done`` when the model answered without tool calls, ``max_steps`` otherwise.
        steps: Model requests made.
        tool_calls: Tool calls executed.
        usage: Tokens summed over every request.
        memories_used: Ids of the shared memories put in the prompt, in prompt order.
        messages: The whole conversation, system message first.
        handoff: The agent the model handed the task to (see ``handoffs`` of
            :meth:`AgentHost.run`), or None.
    """

    output: str
    status: Literal["done", "max_steps"]
    steps: int
    tool_calls: int
    usage: Usage
    memories_used: tuple[str, ...]
    messages: tuple[Message, ...]
    handoff: str | None = None


HANDOFF_PREFIX = "transfer_to_"


def handoff_tool(agent: str) -> ToolSpec:
    """The tool a model calls to hand the task to ``agent`` (the host intercepts it)."""
    return ToolSpec(
        name=f"{HANDOFF_PREFIX}{agent}",
        description=f"Hand the task over to agent {agent!r}; they continue from here.",
        parameters={
            "type": "object",
            "properties": {"note": {"type": "string", "description": "What they should know."}},
        },
        fn=lambda **_: None,
    )


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class AgentHost:
    """Hosts one :class:`Agent` for one team: its working memory and its tool loop.

    The host owns a private :class:`WorkingMemory` that persists across runs; items it evicts
    are spilled to the interaction tier of the agent's private namespace
    ``("agent", team, name)`` when a memory service is given. One owner; not thread-safe.
    """

    def __init__(self, agent: Agent, *, team: str, memory: MemoryService | None = None) -> None:
        """Create the host.

        Args:
            agent: The agent to run.
            team: The team the agent acts for (a namespace label).
            memory: Shared memory; without it ``agent.reads`` and ``agent.writes`` must be empty.

        Raises:
            InvalidInputError: ``agent`` is not an Agent, ``team`` is not a label, or the agent
                reads or writes shared memory but no memory service was given.
            AccessDeniedError: The agent may not read a namespace in ``agent.reads`` (such as
                another agent's private namespace) or write ``agent.writes``.
        """
        if not isinstance(agent, Agent):
            raise InvalidInputError(f"AgentHost needs an Agent, got {agent!r}")
        if not isinstance(team, str):
            raise InvalidInputError(f"team must be a str, got {team!r}")
        self.agent = agent
        self.team = team
        self.principal = Principal.agent(team, agent.name)
        self.memory = memory
        specs = cast(tuple[ToolSpec, ...], agent.tools)  # Agent converted every entry
        self._tools: dict[str, ToolSpec] = {t.name: t for t in specs}
        if memory is None and (agent.reads or agent.writes is not None):
            raise InvalidInputError(
                f"agent {agent.name!r} reads {list(agent.reads)} and writes {agent.writes!r} "
                "but no memory service was given; pass memory=MemoryService.open(...)"
            )
        if memory is not None:
            # Fail before any run: search would silently skip an unreadable namespace.
            for namespace in agent.reads:
                memory.check_access(self.principal, Action.READ, namespace)
            if agent.writes is not None:
                memory.check_access(self.principal, Action.WRITE, agent.writes)
        needs_memory = sorted(t.name for t in specs if t.injected)
        if needs_memory and memory is None:
            raise InvalidInputError(
                f"agent {agent.name!r} has tools that use shared memory ({needs_memory}) but no "
                "memory service was given; pass memory=MemoryService.open(...)"
            )
        self._view = (
            None
            if memory is None
            else AgentMemory(memory, self.principal, agent.writes or self.private_namespace)
        )
        self._working = WorkingMemory(agent.working_budget_tokens)

    @property
    def private_namespace(self) -> Namespace:
        """Where evicted working-memory items are spilled."""
        return self.principal.private_namespace()

    def working_items(self) -> tuple[WorkingItem, ...]:
        """The working memory's items, oldest first."""
        return self._working.items()

    def run(
        self,
        task: str,
        state: Mapping[str, Any] | None = None,
        *,
        context: Sequence[tuple[str, str]] = (),
        handoffs: Sequence[str] = (),
        write_key: str | None = None,
    ) -> AgentResult:
        """Answer ``task``, calling tools until the model answers or ``max_steps`` is reached.

        Args:
            task: What the agent should do (non-empty).
            state: Optional JSON-like state shown to the model with the task.
            context: ``(memory id, text)`` pairs retrieved for the whole team (such as insights
                from earlier runs), shown before the agent's own recall.
            handoffs: Agents this one may hand the task to; each becomes a
                ``transfer_to_<name>`` tool, and calling it ends this agent's turn.
            write_key: Names this step (``AgentRequest.write_key``): the answer is stored under
                an id derived from it, so a step run again after a crash stores it once.

        Raises:
            InvalidInputError: ``task`` is empty or not a str, or ``state`` is not a mapping.
        """
        if not isinstance(task, str) or not task.strip():
            raise InvalidInputError(f"task must be a non-empty str, got {task!r}")
        if state is not None and not isinstance(state, Mapping):
            raise InvalidInputError(f"state must be a mapping or None, got {state!r}")
        hits = self._recall(task)
        shared = [*context, *((h.record.id, h.record.text) for h in hits)]
        memories_used = tuple(dict.fromkeys(memory_id for memory_id, _ in shared))
        messages = self._prompt(task, state, shared)
        self._observe(f"task: {task}", kind="task", importance=0.6)
        transfers = {f"{HANDOFF_PREFIX}{name}": name for name in handoffs}
        handoff: str | None = None

        usage = Usage()
        steps = 0
        executed = 0
        status: Literal["done", "max_steps"] = "max_steps"
        output = ""
        tools = (*self._tools.values(), *(handoff_tool(name) for name in handoffs))
        while steps < self.agent.max_steps and handoff is None:
            response = self._chat(messages, tools)
            steps += 1
            usage = usage + response.usage
            reply = response.message
            messages.append(reply)
            output = reply.content
            if not reply.tool_calls:
                status = "done"
                break
            if steps == self.agent.max_steps:
                break  # the model could never read these results; do not run them
            for call in reply.tool_calls:
                if call.name in transfers and call.name not in self._tools:
                    handoff = transfers[call.name]
                    status = "done"
                    output = str(call.arguments.get("note", "")) or output
                    break
                content = self._call_tool(call)
                executed += 1
                messages.append(Message("tool", content, tool_call_id=call.id, name=call.name))
                self._observe(f"{call.name}: {content}", kind="tool_result", importance=0.5)

        if status == "done" and output.strip() and handoff is None:
            self._observe(f"answer: {output}", kind="answer", importance=0.7)
            if self.memory is not None and self.agent.writes is not None:
                self._store_answer(output, task, memories_used, write_key)
        return AgentResult(
            output=output,
            status=status,
            steps=steps,
            tool_calls=executed,
            usage=usage,
            memories_used=memories_used,
            messages=tuple(messages),
            handoff=handoff,
        )

    def _store_answer(
        self, output: str, task: str, used: Sequence[str], write_key: str | None
    ) -> None:
        memory = self.memory
        assert memory is not None and self.agent.writes is not None
        memory_id = None
        if write_key is not None:
            memory_id = uuid.uuid5(_WRITES, f"{self.team}/{write_key}").hex
        try:
            memory.add(
                output,
                principal=self.principal,
                namespace=self.agent.writes,
                tier=Tier.INTERACTION,
                provenance=used,
                metadata={"agent": self.agent.name, "task": task},
                memory_id=memory_id,
            )
        except MemoryIdTakenError:
            if memory_id is None:
                raise
            # This step ran before and stored its answer, then its reply was lost (its actor
            # died): the memory is there already.

    def _recall(self, task: str) -> list[ScoredMemory]:
        if self.memory is None:
            return []
        hits: list[ScoredMemory] = []
        for namespace in self.agent.reads:
            hits.extend(
                self.memory.search(
                    task,
                    principal=self.principal,
                    namespace_prefix=namespace,
                    k=self.agent.memory_k,
                )
            )
        budget = self.agent.memory_budget_words
        if budget is None:
            return hits
        # One context across the namespaces, best first; a memory under two of them once.
        best: dict[str, ScoredMemory] = {}
        for hit in hits:
            if hit.record.id not in best or hit.score > best[hit.record.id].score:
                best[hit.record.id] = hit
        ranked = sorted(best.values(), key=lambda hit: hit.score, reverse=True)
        return pack_within_budget(ranked, budget)

    def _prompt(
        self, task: str, state: Mapping[str, Any] | None, shared: list[tuple[str, str]]
    ) -> list[Message]:
        messages = [Message("system", self.agent.instructions)]
        items = self._working.items()
        if items:
            lines = "\n".join(f"- ({i.kind}) {i.text}" for i in items)
            messages.append(Message("system", f"Working memory:\n{lines}"))
        if shared:
            seen: set[str] = set()
            lines_out: list[str] = []
            for memory_id, text in shared:
                if memory_id not in seen:
                    seen.add(memory_id)
                    lines_out.append(f"- [{memory_id}] {text}")
            messages.append(Message("system", "Shared memory:\n" + "\n".join(lines_out)))
        user = task
        if state:
            user = f"{task}\n\nState:\n{_render_value(dict(state))}"
        messages.append(Message("user", user))
        return messages

    def _chat(self, messages: list[Message], tools: Sequence[ToolSpec]) -> ChatResponse:
        model = self.agent.model
        provider, name = _model_identity(model)
        with span(
            "chat",
            name,
            kind=SpanKind.CLIENT,
            leaf=True,
            attributes={
                Attr.PROVIDER: provider,
                Attr.REQUEST_MODEL: name,
                Attr.AGENT: self.agent.name,
            },
        ) as current:
            content = capture_content()
            if content:
                current.set_attribute(Attr.INPUT_MESSAGES, _messages_json(messages))
            started = time.perf_counter()
            response = model.chat(messages, tools)
            usage = (response.usage.prompt_tokens, response.usage.completion_tokens)
            model_call(self.agent.name, provider, name, time.perf_counter() - started, usage)
            current.set_attributes({Attr.INPUT_TOKENS: usage[0], Attr.OUTPUT_TOKENS: usage[1]})
            if content:
                current.set_attribute(Attr.OUTPUT_MESSAGES, _messages_json([response.message]))
        return response

    def _call_tool(self, call: ToolCall) -> str:
        with span(
            "execute_tool",
            call.name,
            attributes={Attr.TOOL: call.name, Attr.TOOL_CALL: call.id, Attr.TOOL_TYPE: "function"},
        ) as current:
            recorded = capture_content()
            if recorded:
                current.set_attribute(Attr.TOOL_ARGUMENTS, json.dumps(call.arguments, default=str))
            content = self._run_tool(call)
            failed = content.startswith("error:")
            TOOL_CALLS.add(1, {Attr.TOOL: call.name, Attr.AGENT: self.agent.name, "ok": not failed})
            if failed:
                # The model is told and may recover; the span still shows the failure.
                current.set_status(Status(StatusCode.ERROR, content[:200]))
                current.set_attribute(Attr.ERROR_TYPE, "tool_error")
            elif recorded:
                current.set_attribute(Attr.TOOL_RESULT, content)
        return content

    def _run_tool(self, call: ToolCall) -> str:
        spec = self._tools.get(call.name)
        if spec is None:
            return (
                f"error: there is no tool named {call.name!r}; "
                f"available tools: {sorted(self._tools)}"
            )
        try:
            return _render_value(spec.call(call.arguments, memory=self._view))
        except ToolArgumentError as exc:
            return f"error: {exc}. Fix the arguments and call the tool again."
        except Exception as exc:  # a failing tool is reported to the model, which may recover
            return f"error: tool {call.name!r} raised {type(exc).__name__}: {exc}"

    def _observe(self, text: str, *, kind: str, importance: float) -> None:
        if count_words(text) > self._working.budget_tokens:
            # Too big for working memory at all: it goes straight to the interaction tier.
            self._spill((WorkingItem(text, importance, kind, count_words(text), -1),))
            return
        self._spill(self._working.add(text, importance=importance, kind=kind))

    def _spill(self, items: tuple[WorkingItem, ...]) -> None:
        if self.memory is None or not items:
            return
        for item in items:
            self.memory.add(
                item.text,
                principal=self.principal,
                namespace=self.private_namespace,
                tier=Tier.INTERACTION,
                # A tool's output is the tool's word, not the agent's (memory._trust).
                origin="tool" if item.kind == "tool_result" else None,
                metadata={
                    "source": "working_memory",
                    "kind": item.kind,
                    "importance": item.importance,
                },
            )
