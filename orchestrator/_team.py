"""A team of agents compiled to a LangGraph graph, run on a runtime with durable checkpoints."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph
from langgraph.types import Command, RetryPolicy, interrupt
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from agents import Agent, record_step
from memory import MemoryService, RemoteMemory, validate_namespace
from memory.errors import InvalidNamespaceError
from orchestrator._checkpoint import Checkpoints, open_checkpointer
from orchestrator._flows import After, Custom, Flow, Node, resolve_flow
from orchestrator._insights import Distiller, InsightMemory, Outcome, tool_recipe
from orchestrator._placement import Placement
from orchestrator._runtime import LocalRuntime, RayRuntime, Runtime, init_ray, start_timeout
from orchestrator._state import AgentStep, TeamState, request_for
from orchestrator.errors import RunStateError, TeamDefinitionError
from telemetry import Attr, capture_content, carrier, failed, span, start, within

__all__ = ["AgentFinished", "AgentStarted", "RunResult", "Team", "TeamSession", "default_retry"]

Judge = Callable[[str, "RunResult"], bool]


def _retryable(exc: BaseException) -> bool:
    """Transient failures: model endpoints, connections, crashed or unreachable actors."""
    from agents.errors import ModelConfigError, ModelError

    if isinstance(exc, ModelConfigError):
        return False
    if isinstance(exc, ModelError | ConnectionError | TimeoutError):
        return True
    module = type(exc).__module__
    return module.startswith("ray.") and "Actor" in type(exc).__name__


def default_retry() -> RetryPolicy:
    """Per-node retry on transient model and actor failures: 4 attempts over ~3.5 s.

    The backoff (0.5, 1, 2 s) gives a crashed agent actor time to restart (1-3 s here).
    """
    return RetryPolicy(
        max_attempts=4, initial_interval=0.5, backoff_factor=2.0, retry_on=_retryable
    )


@dataclass(frozen=True)
class AgentStarted:
    """Progress event: an agent began a step."""

    agent: str


@dataclass(frozen=True)
class AgentFinished:
    """Progress event: an agent finished a step."""

    step: AgentStep


@dataclass(frozen=True)
class RunResult:
    """How a run ended.

    Attributes:
        thread_id: The run's checkpoint thread; pass it to ``resume``.
        task: The task.
        status: ``done``; ``interrupted`` (waiting for a human, see ``interrupts``).
        output: The last step's output ("" if no step ran).
        steps: Every agent step, in completion order.
        interrupts: What each pending interrupt asks (agent, task, last output).
        success: The judge's verdict (None while interrupted).
        insights_used: Insight memories recalled for the run.
        learned: What the team recorded in memory after the run (None without memory).
        wall_s: Seconds this call took.
    """

    thread_id: str
    task: str
    status: Literal["done", "interrupted"]
    output: str
    steps: tuple[AgentStep, ...]
    interrupts: tuple[dict[str, Any], ...] = ()
    success: bool | None = None
    insights_used: tuple[str, ...] = ()
    learned: Outcome | None = None
    wall_s: float = 0.0

    @property
    def model_steps(self) -> int:
        """Model requests made by all agents."""
        return sum(s.steps for s in self.steps)

    @property
    def total_tokens(self) -> int:
        """Tokens used by all agents."""
        return sum(s.total_tokens for s in self.steps)


def _all_done(task: str, result: RunResult) -> bool:
    return bool(result.steps) and all(s.status == "done" for s in result.steps)


@dataclass(frozen=True)
class Team:
    """A team of agents, a flow that wires them, and the memory they share.

    Attributes:
        name: The team's namespace label: agents' memory principals and the team's shared
            namespaces (``("team", name, ...)``) derive from it.
        agents: The agents, with distinct names.
        flow: ``"sequential"``, ``"parallel"``, or a :class:`Sequential`, :class:`Parallel`,
            :class:`Supervisor`, :class:`Handoffs` or :class:`Custom` flow.
        memory: Shared memory: a DuckDB file path (opened by the runtime: in-process for
            ``local``, a memory actor for ``ray``), an open :class:`MemoryService` (``local``
            only), a :class:`~memory.RemoteMemory` from ``start_memory_actor`` (shared by
            several teams, any runtime), or None for no shared memory (then no insight
            learning either).
        checkpoints: Where LangGraph checkpoints go (see :func:`open_checkpointer`); None reads
            ``COLONY_CHECKPOINTS`` or uses ``.colony/checkpoints.sqlite``.
        retry: Per-node retry policy (one for all, or by agent name); None uses
            :func:`default_retry`.
        interrupt_before: Agents whose step waits for a human first; resume with feedback.
        placement: Ray placement hints by agent name (``ray`` runtime only).
        memory_placement: Where the memory actor runs (``ray`` runtime only).
        judge: Decides whether a run succeeded (default: every step answered).
        learn: Recall insights before and record outcomes after each run (needs memory).
        distill: Turns a finished run into an insight (default: :func:`tool_recipe`).
    """

    name: str
    agents: Sequence[Agent]
    flow: Any = "sequential"
    memory: str | os.PathLike[str] | MemoryService | RemoteMemory | None = None
    checkpoints: Checkpoints = None
    retry: RetryPolicy | Mapping[str, RetryPolicy] | None = None
    interrupt_before: Sequence[str] = ()
    placement: Mapping[str, Placement] = field(default_factory=dict)
    memory_placement: Placement | None = None
    judge: Judge = _all_done
    learn: bool = True
    distill: Distiller = tool_recipe

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TeamDefinitionError(f"Team.name must be a str, got {self.name!r}")
        try:
            validate_namespace(("team", self.name))
        except InvalidNamespaceError as exc:
            raise TeamDefinitionError(f"Team.name: {exc}") from exc
        if isinstance(self.agents, Agent) or not all(isinstance(a, Agent) for a in self.agents):
            raise TeamDefinitionError(
                f"Team.agents must be a sequence of Agent objects, got {self.agents!r}"
            )
        agents = tuple(self.agents)
        if not agents:
            raise TeamDefinitionError("Team.agents is empty; a team needs at least one agent")
        names = [a.name for a in agents]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise TeamDefinitionError(f"Team.agents has several agents named {twice}")
        object.__setattr__(self, "agents", agents)
        object.__setattr__(self, "flow", resolve_flow(self.flow))
        for label, group in (
            ("interrupt_before", self.interrupt_before),
            ("placement", list(self.placement)),
        ):
            if isinstance(group, str):
                raise TeamDefinitionError(
                    f"Team.{label} must be a sequence of names, got {group!r}"
                )
            unknown = [n for n in group if n not in names]
            if unknown:
                raise TeamDefinitionError(
                    f"Team.{label} names agents the team does not have: {unknown}; "
                    f"team agents: {names}"
                )
        object.__setattr__(self, "interrupt_before", tuple(self.interrupt_before))
        for key, hint in self.placement.items():
            if not isinstance(hint, Placement):
                raise TeamDefinitionError(
                    f"Team.placement[{key!r}] must be a Placement, got {hint!r}"
                )
        if self.memory is not None and not isinstance(
            self.memory, str | os.PathLike | MemoryService | RemoteMemory
        ):
            raise TeamDefinitionError(
                "Team.memory must be a DuckDB file path, a MemoryService or None, "
                f"got {self.memory!r}"
            )

    @property
    def agent_names(self) -> tuple[str, ...]:
        """Agent names in definition order."""
        return tuple(a.name for a in self.agents)

    def session(self, *, runtime: str = "local", address: str | None = None) -> TeamSession:
        """Start the team on ``runtime`` (``local`` or ``ray``); use as a context manager.

        Args:
            runtime: ``local`` runs agents in this process; ``ray`` runs one actor per agent.
            address: Ray cluster to join (``ray`` only); a local Ray is started otherwise.
        """
        return TeamSession(self, runtime=runtime, address=address)

    def run(
        self,
        task: str,
        *,
        runtime: str = "local",
        address: str | None = None,
        thread_id: str | None = None,
    ) -> RunResult:
        """Run ``task`` once in a fresh session (see :meth:`session` to reuse one)."""
        with self.session(runtime=runtime, address=address) as session:
            return session.run(task, thread_id=thread_id)

    def resume(
        self,
        thread_id: str,
        feedback: str | None = None,
        *,
        runtime: str = "local",
        address: str | None = None,
    ) -> RunResult:
        """Resume a crashed or interrupted run in a fresh session."""
        with self.session(runtime=runtime, address=address) as session:
            return session.resume(thread_id, feedback)


class _NodeFactory:
    def __init__(self, team: Team, runtime: Runtime) -> None:
        self.team = team
        self.runtime = runtime
        self.names = team.agent_names

    def agent(self, name: str, *, handoffs: Sequence[str] = (), after: After | None = None) -> Node:
        runtime = self.runtime
        team_name = self.team.name
        review = name in self.team.interrupt_before
        targets = list(handoffs)

        def node(state: TeamState, config: RunnableConfig) -> Any:
            update: dict[str, Any] = {}
            if review:
                last = state.get("steps", [])
                answer = interrupt(
                    {
                        "agent": name,
                        "task": state.get("subtask") or state["task"],
                        "last_output": last[-1]["output"] if last else "",
                    }
                )
                if isinstance(answer, str) and answer.strip():
                    update["feedback"] = [answer]
                    state = cast(
                        TeamState, {**state, "feedback": [*state.get("feedback", []), answer]}
                    )
            # The same step of the same run has the same key, however often it is retried.
            thread = config.get("configurable", {}).get("thread_id", "")
            key = f"{thread}/{name}/{len(state.get('steps', []))}"
            request = request_for(state, name, handoffs=targets, write_key=key)
            if runtime.name == "local":
                # A call in this process: the host's own invoke_agent span is the only one.
                step = runtime.step(name, request)
            else:
                with span(
                    "invoke_agent",
                    name,
                    kind=SpanKind.CLIENT,
                    attributes={Attr.AGENT: name, Attr.TEAM: team_name},
                ) as current:
                    step = runtime.step(name, request.model_copy(update={"trace": carrier()}))
                    record_step(current, step)
            update["steps"] = [step.model_dump()]
            if after is not None:
                command = after(step, state)
                if command is not None:
                    merged = dict(cast(Mapping[str, Any], command.update or {}))
                    return Command(goto=command.goto, update={**merged, **update})
            return update

        node.__name__ = f"agent_{name}"
        return node


class TeamSession:
    """A started team: its runtime, compiled graph and checkpoint store.

    Runs in one session share the agents' hosts (so working memory persists between runs).
    Close it (or use ``with``) to stop actors and release files.
    """

    def __init__(self, team: Team, *, runtime: str = "local", address: str | None = None) -> None:
        if runtime not in ("local", "ray"):
            raise TeamDefinitionError(f"runtime must be 'local' or 'ray', got {runtime!r}")
        if address is not None and runtime != "ray":
            raise TeamDefinitionError(f"address={address!r} needs runtime='ray'")
        self.team = team
        self._closers: list[Callable[[], None]] = []
        self.memory: MemoryService | None = None
        try:
            self._start(runtime, address)
        except BaseException:
            self.close()
            raise

    def _start(self, runtime: str, address: str | None) -> None:
        team = self.team
        agents = {a.name: a for a in team.agents}
        memory_handle: Any = None
        if runtime == "local":
            if isinstance(team.memory, MemoryService | RemoteMemory):
                self.memory = cast(MemoryService, team.memory)
            elif team.memory is not None:
                service = MemoryService.open(team.memory)
                self._closers.append(service.close)
                self.memory = service
            memory_handle = self.memory
            self.runtime: Runtime = LocalRuntime(agents, team=team.name, memory=self.memory)
        else:
            if isinstance(team.memory, MemoryService):
                raise TeamDefinitionError(
                    "the ray runtime needs Team.memory as a file path (it starts the memory "
                    "actor that owns the file), not an open MemoryService"
                )
            started = init_ray(address)
            if started:
                import ray

                self._closers.append(ray.shutdown)
            if isinstance(team.memory, RemoteMemory):
                memory_handle = team.memory
                self.memory = cast(MemoryService, team.memory)
            elif team.memory is not None:
                from memory import start_memory_actor

                hint = team.memory_placement or Placement()
                remote = start_memory_actor(
                    os.path.abspath(os.fspath(team.memory)),
                    resources=dict(hint.resources) or None,
                    label_selector=dict(hint.labels) or None,
                )
                _wait_memory_actor(remote, hint)
                self._closers.append(lambda: _stop_memory_actor(remote))
                memory_handle = remote
                self.memory = cast(MemoryService, remote)
            ray_runtime = RayRuntime(
                agents, team=team.name, memory=memory_handle, placement=team.placement
            )
            self._closers.append(ray_runtime.close)
            self.runtime = ray_runtime
        self.insights = (
            InsightMemory(self.memory, team.name, distill=team.distill)
            if self.memory is not None and team.learn
            else None
        )
        opened = open_checkpointer(team.checkpoints)
        self._closers.append(opened.close)
        self.graph = self._compile(opened.saver)
        # A durable store is written after every step, so a crash loses at most that step; an
        # in-memory one cannot outlive the process, so it is written when the run stops (at
        # the end or at an interrupt), which is all that resuming in this process needs.
        self._durability: Any = "exit" if isinstance(opened.saver, InMemorySaver) else "sync"

    def _compile(self, saver: Any) -> Any:
        team = self.team
        nodes = _NodeFactory(team, self.runtime)
        flow = team.flow
        if isinstance(flow, Custom):
            builder = flow.graph(nodes)
        else:
            builder = StateGraph(TeamState)
            cast(Flow, flow).build(builder, nodes)
        for name, spec in builder.nodes.items():
            if name in nodes.names and spec.retry_policy is None:
                retry = team.retry
                if isinstance(retry, Mapping):
                    retry = retry.get(name)
                spec.retry_policy = retry or default_retry()
        return builder.compile(checkpointer=saver, name=team.name)

    # -- runs ------------------------------------------------------------------------------

    def run(self, task: str, *, thread_id: str | None = None) -> RunResult:
        """Run ``task`` to the end (or to an interrupt)."""
        return _final(self.stream(task, thread_id=thread_id))

    def resume(self, thread_id: str, feedback: str | None = None) -> RunResult:
        """Continue a run from its last checkpoint; ``feedback`` answers a pending interrupt."""
        return _final(self.stream_resume(thread_id, feedback))

    def stream(
        self, task: str, *, thread_id: str | None = None
    ) -> Iterator[AgentStarted | AgentFinished | RunResult]:
        """Run ``task``, yielding progress events and finally the :class:`RunResult`."""
        if not isinstance(task, str) or not task.strip():
            raise TeamDefinitionError(f"task must be a non-empty str, got {task!r}")
        thread_id = thread_id or uuid.uuid4().hex
        config = self._config(thread_id)
        if self.graph.get_state(config).values:
            raise RunStateError(
                f"thread {thread_id!r} already has a run; resume it or use a new thread_id"
            )

        def first_state() -> dict[str, Any]:
            context = self.insights.recall(task) if self.insights is not None else []
            return {"task": task, "context": [list(pair) for pair in context], "steps": []}

        yield from self._drive(first_state, thread_id, task)

    def stream_resume(
        self, thread_id: str, feedback: str | None = None
    ) -> Iterator[AgentStarted | AgentFinished | RunResult]:
        """Resume ``thread_id``, yielding progress events and finally the result."""
        snapshot = self.graph.get_state(self._config(thread_id))
        if not snapshot.values:
            raise RunStateError(f"no run with thread_id {thread_id!r} in the checkpoint store")
        if not snapshot.next:
            raise RunStateError(f"the run {thread_id!r} has already finished; nothing to resume")
        command: Any = Command(resume=feedback) if snapshot.interrupts else None
        yield from self._drive(lambda: command, thread_id, snapshot.values.get("task"))

    def _config(self, thread_id: str) -> dict[str, Any]:
        # Parallel branches each hold a thread while they wait for their agent.
        return {
            "configurable": {"thread_id": thread_id},
            "max_concurrency": max(8, 2 * len(self.team.agents)),
            "recursion_limit": 200,
        }

    def _drive(
        self, graph_input: Callable[[], Any], thread_id: str, task: str | None
    ) -> Iterator[AgentStarted | AgentFinished | RunResult]:
        """Run the graph from ``graph_input()`` (made inside the run's trace), with events."""
        start_s = time.perf_counter()
        config = self._config(thread_id)
        names = set(self.team.agent_names)
        # The run's root span; current only while the run works (see telemetry.start).
        root = start(
            "invoke_workflow",
            self.team.name,
            attributes={
                Attr.WORKFLOW: self.team.name,
                Attr.RUN: thread_id,
                Attr.CONVERSATION: thread_id,
                Attr.INPUT_MESSAGES: _task_json(task) if task and capture_content() else None,
            },
        )
        try:
            with trace.use_span(root):
                first = graph_input()
            events = self.graph.stream(
                first, config, stream_mode=["tasks"], durability=self._durability
            )
            for mode, payload in within(root, events):
                if mode != "tasks" or payload.get("name") not in names:
                    continue
                if "input" in payload:
                    yield AgentStarted(payload["name"])
                elif not payload.get("error") and not payload.get("interrupts"):
                    for step in _steps_of(payload.get("result")):
                        yield AgentFinished(step)
            with trace.use_span(root):
                result = self._result(thread_id, time.perf_counter() - start_s)
            root.set_attributes(
                {
                    Attr.RUN_STATUS: result.status,
                    Attr.INPUT_TOKENS: sum(s.prompt_tokens for s in result.steps),
                    Attr.OUTPUT_TOKENS: sum(s.completion_tokens for s in result.steps),
                    Attr.STEPS: len(result.steps),
                }
            )
        except BaseException as exc:
            failed(root, exc)
            raise
        finally:
            root.end()
        yield result

    def _result(self, thread_id: str, wall_s: float) -> RunResult:
        snapshot = self.graph.get_state(self._config(thread_id))
        values = snapshot.values
        steps = tuple(AgentStep.model_validate(s) for s in values.get("steps", []))
        context = tuple(str(pair[0]) for pair in values.get("context", []))
        used = tuple(dict.fromkeys(i for i in context if any(i in s.memories_used for s in steps)))
        result = RunResult(
            thread_id=thread_id,
            task=values["task"],
            status="interrupted" if snapshot.next else "done",
            output=steps[-1].output if steps else "",
            steps=steps,
            interrupts=tuple(dict(i.value) for i in snapshot.interrupts),
            insights_used=used,
            wall_s=wall_s,
        )
        if result.status == "interrupted":
            return result
        success = bool(self.team.judge(result.task, result))
        learned = None
        if self.insights is not None:
            learned = self.insights.learn(
                result.task, steps, success=success, insights_used=used, thread_id=thread_id
            )
        return replace(result, success=success, learned=learned)

    def working_memory(self, agent: str) -> list[str]:
        """The texts in ``agent``'s private working memory (the team owner's view)."""
        runtime = self.runtime
        if isinstance(runtime, LocalRuntime):
            return runtime.workers[agent].working_texts()
        import ray

        return cast(
            list[str], ray.get(cast(RayRuntime, runtime).actors[agent].working_texts.remote())
        )

    def close(self) -> None:
        """Stop the actors, close the memory and the checkpoint store."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> TeamSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _task_json(task: str) -> str:
    """The task as the GenAI conventions' input messages (recorded with content capture on)."""
    return json.dumps([{"role": "user", "parts": [{"type": "text", "content": task}]}])


def _final(events: Iterator[AgentStarted | AgentFinished | RunResult]) -> RunResult:
    """Drain a run's events; the last one is its result."""
    result = None
    for event in events:
        if isinstance(event, RunResult):
            result = event
    assert result is not None
    return result


def _steps_of(update: Any) -> list[AgentStep]:
    if isinstance(update, Command):
        update = update.update
    if isinstance(update, Mapping):
        return [AgentStep.model_validate(s) for s in update.get("steps", [])]
    return []


def _wait_memory_actor(remote: Any, hint: Placement) -> None:
    """Fail, rather than hang the first run, when no node can host the memory actor."""
    import ray

    timeout = start_timeout()
    ready, _ = ray.wait([remote.handle.pid.remote()], timeout=timeout)
    if not ready:
        ray.kill(remote.handle, no_restart=True)
        raise TeamDefinitionError(
            f"the memory actor did not start within {timeout:g} s: no node offers what "
            f"Team.memory_placement asks for ({hint.ray_options()}); compare it with the "
            f"nodes' resources and labels (`ray status`), or raise COLONY_ACTOR_START_TIMEOUT"
        )


def _stop_memory_actor(remote: Any) -> None:
    import ray

    try:
        ray.get(remote.handle.close.remote(), timeout=30)
    finally:
        ray.kill(remote.handle, no_restart=True)
