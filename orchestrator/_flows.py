"""Flows: how a team's agents are wired into a LangGraph ``StateGraph``.

A flow adds nodes and edges to a builder over :class:`TeamState`; every agent node comes from
the team's :class:`Nodes` factory, so the same flow runs on any runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

from orchestrator._state import AgentStep, TeamState
from orchestrator.errors import TeamDefinitionError

__all__ = [
    "Custom",
    "Flow",
    "Handoffs",
    "Nodes",
    "Parallel",
    "RunView",
    "Sequential",
    "Supervisor",
    "resolve_flow",
]

# An agent's node also takes the run's config (its thread id names the step's writes).
Node = Callable[[TeamState], Any] | Callable[[TeamState, RunnableConfig], Any]
After = Callable[[AgentStep, TeamState], Command[Any] | None]


class Nodes(Protocol):
    """Makes the graph node that runs one agent (given to flows by the team)."""

    names: tuple[str, ...]

    def agent(self, name: str, *, handoffs: Sequence[str] = (), after: After | None = None) -> Node:
        """The node for ``name``; ``after`` may turn its step into a routing Command."""
        ...


@dataclass(frozen=True)
class RunView:
    """What a router function sees: the task and the steps so far."""

    task: str
    steps: tuple[AgentStep, ...]

    @property
    def last(self) -> AgentStep | None:
        """The most recent step, if any."""
        return self.steps[-1] if self.steps else None


def _add(builder: StateGraph[Any], name: str, node: Any, **options: Any) -> None:
    # LangGraph's add_node overloads cannot infer a node type through our Node alias.
    builder.add_node(name, node, **options)


def _known(names: Sequence[str], wanted: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(wanted, str):
        raise TeamDefinitionError(f"{what} must be a sequence of agent names, got {wanted!r}")
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise TeamDefinitionError(
            f"{what} names agents the team does not have: {unknown}; team agents: {list(names)}"
        )
    return tuple(wanted)


class Flow(Protocol):
    """Adds a team's nodes and edges to a LangGraph builder."""

    def build(self, builder: StateGraph[Any], nodes: Nodes) -> None:
        """Wire the graph."""
        ...


@dataclass(frozen=True)
class Sequential:
    """Each agent in turn, each seeing the outputs before it.

    Attributes:
        order: Agent names in the order they run; all of the team's agents by default.
    """

    order: Sequence[str] | None = None

    def build(self, builder: StateGraph[Any], nodes: Nodes) -> None:
        order = _known(nodes.names, self.order or nodes.names, "Sequential.order")
        if not order:
            raise TeamDefinitionError("Sequential needs at least one agent")
        previous = START
        for name in order:
            _add(builder, name, nodes.agent(name))
            builder.add_edge(previous, name)
            previous = name
        builder.add_edge(previous, END)


@dataclass(frozen=True)
class Parallel:
    """Fan out to workers at once (LangGraph ``Send``), then fan in to an optional merger.

    Attributes:
        workers: Agents that run in parallel; every agent except ``planner`` and ``merge`` by
            default.
        merge: Agent that runs once all workers are done and sees all their outputs.
        planner: Agent that runs first; ``split`` sees its output (e.g. a list of
            sub-questions) in ``view.last``.
        split: Given a :class:`RunView` (the task, and the planner's step if there is one),
            returns ``(agent, subtask)`` pairs; by default each worker gets the whole task. An
            agent may appear in several pairs: its branches then take turns on its host.
    """

    workers: Sequence[str] | None = None
    merge: str | None = None
    planner: str | None = None
    split: Callable[[RunView], Sequence[tuple[str, str]]] | None = None

    def build(self, builder: StateGraph[Any], nodes: Nodes) -> None:
        for role, name in (("merge", self.merge), ("planner", self.planner)):
            if name is not None:
                _known(nodes.names, [name], f"Parallel.{role}")
        default = [n for n in nodes.names if n not in (self.merge, self.planner)]
        workers = _known(nodes.names, self.workers or default, "Parallel.workers")
        if not workers:
            raise TeamDefinitionError("Parallel needs at least one worker")
        if self.planner in workers or (self.merge is not None and self.merge in workers):
            raise TeamDefinitionError(
                f"Parallel.workers {list(workers)} must not include the planner or the merger"
            )
        split = self.split

        def fan_out(state: TeamState) -> list[Send]:
            task = state["task"]
            if split is None:
                pairs: Sequence[Any] = [(w, task) for w in workers]
            else:
                steps = tuple(AgentStep.model_validate(s) for s in state.get("steps", []))
                pairs = split(RunView(task, steps))
            sends = []
            for pair in pairs:
                if (
                    not isinstance(pair, tuple | list)
                    or len(pair) != 2
                    or pair[0] not in workers
                    or not isinstance(pair[1], str)
                    or not pair[1].strip()
                ):
                    raise TeamDefinitionError(
                        f"Parallel.split must return (worker, subtask) pairs with a worker in "
                        f"{list(workers)} and a non-empty subtask, got {pair!r}"
                    )
                payload = {
                    "task": task,
                    "subtask": pair[1],
                    "context": state.get("context", []),
                    "feedback": state.get("feedback", []),
                    "steps": state.get("steps", []),
                }
                sends.append(Send(pair[0], payload))
            return sends

        for name in workers:
            _add(builder, name, nodes.agent(name))
            builder.add_edge(name, self.merge if self.merge is not None else END)
        source = START
        if self.planner is not None:
            _add(builder, self.planner, nodes.agent(self.planner))
            builder.add_edge(START, self.planner)
            source = self.planner
        builder.add_conditional_edges(source, fan_out, list(workers))
        if self.merge is not None:
            _add(builder, self.merge, nodes.agent(self.merge))
            builder.add_edge(self.merge, END)


def _route_by_handoff(limit: int, back_to: str | None = None) -> After:
    """After a step: follow its hand-off, else go to ``back_to`` (or finish)."""

    def after(step: AgentStep, state: TeamState) -> Command[Any]:
        turns = state.get("turns", 0) + 1
        if step.handoff is not None and turns <= limit:
            return Command(goto=step.handoff, update={"turns": turns})
        return Command(goto=back_to or END, update={"turns": turns})

    return after


@dataclass(frozen=True)
class Supervisor:
    """A router picks the next worker after each step, until it decides to finish.

    Attributes:
        router: Either the name of a router agent (it hands the task to a worker with the
            ``transfer_to_<worker>`` tools and finishes by answering), or a function of a
            :class:`RunView` returning the next worker's name, or None to finish.
        workers: Agents the router may pick; every other agent by default.
        max_turns: Most routing decisions in one run (bounds a router that never finishes).
    """

    router: str | Callable[[RunView], str | None]
    workers: Sequence[str] | None = None
    max_turns: int = 10

    def build(self, builder: StateGraph[Any], nodes: Nodes) -> None:
        if not isinstance(self.max_turns, int) or self.max_turns < 1:
            raise TeamDefinitionError(f"Supervisor.max_turns must be >= 1, got {self.max_turns!r}")
        router_name = self.router if isinstance(self.router, str) else None
        if router_name is not None:
            _known(nodes.names, [router_name], "Supervisor.router")
        default = [n for n in nodes.names if n != router_name]
        workers = _known(nodes.names, self.workers or default, "Supervisor.workers")
        if router_name is not None:
            _add(
                builder,
                router_name,
                nodes.agent(
                    router_name,
                    handoffs=workers,
                    after=_route_by_handoff(self.max_turns),
                ),
                destinations=(*workers, END),
            )
            builder.add_edge(START, router_name)
            for name in workers:
                _add(builder, name, nodes.agent(name))
                builder.add_edge(name, router_name)
            return
        route = self.router
        if not callable(route):
            raise TeamDefinitionError(
                f"Supervisor.router must be an agent name or a function, got {route!r}"
            )
        limit = self.max_turns

        def decide(state: TeamState) -> Command[Any]:
            turns = state.get("turns", 0)
            if turns >= limit:
                return Command(goto=END)
            view = RunView(
                state["task"], tuple(AgentStep.model_validate(s) for s in state.get("steps", []))
            )
            choice = route(view)
            if choice is None:
                return Command(goto=END)
            if choice not in workers:
                raise TeamDefinitionError(
                    f"the supervisor's router returned {choice!r}; it must return one of "
                    f"{list(workers)} or None to finish"
                )
            return Command(goto=choice, update={"turns": turns + 1, "next": choice})

        _add(builder, "route", decide, destinations=(*workers, END))
        builder.add_edge(START, "route")
        for name in workers:
            _add(builder, name, nodes.agent(name))
            builder.add_edge(name, "route")


@dataclass(frozen=True)
class Handoffs:
    """Agents pass the task among themselves with ``transfer_to_<name>`` tools.

    An agent that answers without handing off ends the run.

    Attributes:
        start: The first agent.
        routes: Whom each agent may hand off to; by default everyone else.
        max_handoffs: Most hand-offs in one run.
    """

    start: str
    routes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    max_handoffs: int = 10

    def build(self, builder: StateGraph[Any], nodes: Nodes) -> None:
        _known(nodes.names, [self.start], "Handoffs.start")
        _known(nodes.names, list(self.routes), "Handoffs.routes")
        after = _route_by_handoff(self.max_handoffs)
        for name in nodes.names:
            targets = _known(
                nodes.names,
                self.routes.get(name, [n for n in nodes.names if n != name]),
                f"Handoffs.routes[{name!r}]",
            )
            _add(
                builder,
                name,
                nodes.agent(name, handoffs=targets, after=after),
                destinations=(*targets, END),
            )
        builder.add_edge(START, self.start)


@dataclass(frozen=True)
class Custom:
    """Any LangGraph graph whose nodes are the team's agents.

    Attributes:
        build_graph: Given the agent nodes by name, returns an uncompiled
            ``StateGraph(TeamState)`` using them (plus any nodes of your own).
    """

    build_graph: Callable[[Mapping[str, Node]], StateGraph[Any]]

    def graph(self, nodes: Nodes) -> StateGraph[Any]:
        """The user's graph, built over the team's agent nodes."""
        graph = self.build_graph({name: nodes.agent(name) for name in nodes.names})
        if not isinstance(graph, StateGraph):
            raise TeamDefinitionError(
                f"Custom.build_graph must return an uncompiled langgraph StateGraph, got {graph!r}"
            )
        return graph


def resolve_flow(flow: object) -> Flow | Custom:
    """Accept a flow object or the shorthands ``"sequential"`` and ``"parallel"``."""
    if flow == "sequential":
        return Sequential()
    if flow == "parallel":
        return Parallel()
    if isinstance(flow, Sequential | Parallel | Supervisor | Handoffs | Custom):
        return flow
    if hasattr(flow, "build") and callable(flow.build):
        return cast(Flow, flow)
    raise TeamDefinitionError(
        f"flow must be 'sequential', 'parallel', Sequential(...), Parallel(...), "
        f"Supervisor(...), Handoffs(...) or Custom(...), got {flow!r}"
    )
