"""A research team: a supervisor plans, researchers search in parallel, a writer cites them.

The graph is a :class:`~orchestrator.Custom` LangGraph ``StateGraph``: the supervisor splits
the task into sub-questions, a LangGraph ``Send`` fans them out to the researchers (one branch
each, run at the same time), every researcher answers its sub-question with the ``search``
tool over a small corpus kept in this file, and the writer merges the findings into a report
that cites its sources.

It talks to an OpenAI-compatible endpoint when ``COLONY_OPENAI_BASE_URL`` (or
``OPENAI_BASE_URL``) is set, with the model named by ``COLONY_MODEL`` and the key in
``OPENAI_API_KEY``; otherwise it runs offline on deterministic stand-in models::

    python examples/research_team.py --task "How does Colony use Ray actors, LangGraph and DuckDB?"
    python examples/research_team.py --runtime ray
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agents import Agent, ChatModel, ChatResponse, Message, OpenAIChatModel, ToolCall, ToolSpec
from memory.errors import ColonyError
from orchestrator import Custom, Team, TeamState

__all__ = [
    "CORPUS",
    "DEFAULT_MODEL",
    "DEFAULT_TASK",
    "ModelFactory",
    "OfflineModel",
    "build_team",
    "default_model_factory",
    "main",
    "search",
    "sub_questions",
]

DEFAULT_TASK = "How does Colony use Ray actors, LangGraph Send and DuckDB?"
DEFAULT_MODEL = "gpt-4o-mini"

# The researchers' library: id -> (title, passage).
CORPUS: dict[str, tuple[str, str]] = {
    "ray-actors": (
        "Ray actors",
        "Each agent runs in its own Ray actor; actors restart after a crash and I/O-bound "
        "agents reserve no CPU.",
    ),
    "langgraph-send": (
        "LangGraph Send",
        "A LangGraph Send starts one branch per sub-task in the same step; the graph waits "
        "for every branch before the next node runs.",
    ),
    "langgraph-checkpoints": (
        "LangGraph checkpoints",
        "LangGraph checkpoints every step to SQLite or PostgreSQL, so a crashed run resumes "
        "where it stopped.",
    ),
    "duckdb-memory": (
        "DuckDB shared memory",
        "Shared memory lives in one DuckDB file owned by a single writer; other actors hold "
        "its handle and search it with BM25 and vectors.",
    ),
    "otel-tracing": (
        "OpenTelemetry tracing",
        "Every run is traced with OpenTelemetry GenAI spans: one root span per run and one "
        "span per agent, model call and tool call.",
    ),
}

# Words too common to tell what a passage is about.
_COMMON_WORDS = (
    "a an and are as at be by can colony do does for from how in is it its of on or the to use "
    "uses used what when where which who why with"
)
_STOPWORDS = frozenset(_COMMON_WORDS.split())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS}


def search(query: str, k: int = 2) -> list[dict[str, str]]:
    """Search the team's library for passages about a question.

    Args:
        query: The question or keywords to look for.
        k: How many passages to return, best first (1 to 5).
    """
    wanted = _words(query)
    scored = []
    for doc_id, (title, text) in CORPUS.items():
        title_hits = len(wanted & _words(title))
        score = 2 * title_hits + len(wanted & _words(text))
        if score:
            scored.append((-score, doc_id, title, text))
    scored.sort()  # by score, then id: the same query always gives the same order
    return [{"id": i, "title": t, "text": x} for _, i, t, x in scored[: max(1, min(k, 5))]]


# -- the graph ------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*")


def sub_questions(plan: str) -> list[str]:
    """The sub-questions of a plan: one a line, bullets and numbering removed."""
    lines = (_BULLET.sub("", line).strip() for line in plan.splitlines())
    return [line for line in lines if line]


def _researcher_names(count: int) -> list[str]:
    return [f"researcher-{i}" for i in range(1, count + 1)]


def _research_graph(researchers: Sequence[str]) -> Callable[[Mapping[str, Any]], StateGraph[Any]]:
    """START -> supervisor -> Send to each researcher -> writer -> END."""

    def fan_out(state: TeamState) -> list[Send]:
        plans = [s["output"] for s in state.get("steps", []) if s["agent"] == "supervisor"]
        questions = sub_questions(plans[-1] if plans else "") or [state["task"]]
        # Round-robin, so a long plan still reaches a researcher once, never twice at a time.
        assigned = [questions[i :: len(researchers)] for i in range(len(researchers))]
        return [
            Send(
                name,
                {
                    "task": state["task"],
                    "subtask": "\n".join(mine),
                    "context": state.get("context", []),
                    "feedback": state.get("feedback", []),
                },
            )
            for name, mine in zip(researchers, assigned, strict=True)
            if mine
        ]

    def build(nodes: Mapping[str, Any]) -> StateGraph[Any]:
        graph = StateGraph(TeamState)
        graph.add_node("supervisor", nodes["supervisor"])
        graph.add_node("writer", nodes["writer"])
        graph.add_edge(START, "supervisor")
        graph.add_conditional_edges("supervisor", fan_out, list(researchers))
        for name in researchers:
            graph.add_node(name, nodes[name])
            graph.add_edge(name, "writer")  # the writer runs once, after every branch
        graph.add_edge("writer", END)
        return graph

    return build


# -- the models -----------------------------------------------------------------------------

_INSTRUCTIONS = {
    "supervisor": (
        "You lead a research team. Split the task into at most {researchers} independent, "
        "specific sub-questions. Answer with one sub-question a line and nothing else."
    ),
    "researcher": (
        "You research the sub-question(s) you are given. Call the search tool, then answer "
        "each sub-question in one sentence that states the finding and cites the id of the "
        "passage it comes from in square brackets, e.g. [ray-actors]. Use only what search "
        "returned."
    ),
    "writer": (
        "You write the team's report. The researchers' findings are in the State. Answer the "
        "task with a short report that keeps every finding with its [id] citation, and end "
        "with a line 'Sources:' listing every cited id."
    ),
}


def _user_text(messages: Sequence[Message]) -> tuple[str, dict[str, Any]]:
    """The task and the State the host showed the model (a stand-in reads its prompt too)."""
    user = next(m.content for m in reversed(messages) if m.role == "user")
    task, _, state = user.partition("\n\nState:\n")
    try:
        view = json.loads(state) if state else {}
    except ValueError:
        view = {}
    return task, view if isinstance(view, dict) else {}


class OfflineModel:
    """A deterministic stand-in for an LLM in one role, so the example runs without a key.

    Attributes:
        role: ``supervisor``, ``researcher`` or ``writer``.
    """

    def __init__(self, role: str) -> None:
        if role not in _INSTRUCTIONS:
            raise ValueError(f"role must be one of {sorted(_INSTRUCTIONS)}, got {role!r}")
        self.role = role

    def __repr__(self) -> str:
        return f"OfflineModel({self.role!r})"

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Plan, research or write, from what the conversation holds."""
        if self.role == "supervisor":
            return _reply(_offline_plan(_user_text(messages)[0]))
        if self.role == "researcher":
            return _offline_research(messages, tools)
        return _reply(_offline_report(*_user_text(messages)))


def _reply(text: str, calls: Sequence[ToolCall] = ()) -> ChatResponse:
    return ChatResponse(Message("assistant", text, tuple(calls)))


def _offline_plan(task: str) -> str:
    parts = re.split(r",|;|\band\b", task.strip().rstrip("?.!"))
    return "\n".join(f"{i}. {p.strip()}?" for i, p in enumerate(parts, 1) if p.strip())


def _offline_research(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> ChatResponse:
    last = messages[-1]
    if last.role == "user":
        if not any(t.name == "search" for t in tools):
            return _reply("I have no search tool, so I have no finding.")
        questions = sub_questions(_user_text(messages)[0])
        calls = [ToolCall(f"q{i}", "search", {"query": q}) for i, q in enumerate(questions)]
        return _reply("", calls)
    asked = {
        call.id: str(call.arguments.get("query", ""))
        for m in messages
        if m.role == "assistant"
        for call in m.tool_calls
    }
    findings = []
    for m in messages:
        if m.role != "tool" or m.tool_call_id not in asked:
            continue
        try:
            hits = json.loads(m.content)
        except ValueError:
            hits = []
        question = asked[m.tool_call_id]
        if hits:
            findings.append(f"{question} — {hits[0]['text']} [{hits[0]['id']}]")
        else:
            findings.append(f"{question} — the library has nothing on this.")
    return _reply("\n".join(findings))


def _offline_report(task: str, view: Mapping[str, Any]) -> str:
    previous = [
        (str(s.get("agent", "")), str(s.get("output", ""))) for s in view.get("previous", [])
    ]
    plan = [q for agent, out in previous if agent == "supervisor" for q in sub_questions(out)]
    findings = [
        line
        for agent, output in previous
        if agent.startswith("researcher")
        for line in output.splitlines()
        if line.strip()
    ]

    def in_plan_order(finding: str) -> int:
        return next((i for i, q in enumerate(plan) if finding.startswith(q)), len(plan))

    findings.sort(key=in_plan_order)  # stable: branches finish in any order, the report does not
    cited = list(dict.fromkeys(re.findall(r"\[([\w.-]+)\]", "\n".join(findings))))
    body = "\n".join(f"{i}. {line}" for i, line in enumerate(findings, 1))
    sources = ", ".join(f"[{c}] {CORPUS[c][0]}" if c in CORPUS else f"[{c}]" for c in cited)
    return f"Report: {task}\n\n{body}\n\nSources: {sources or 'none'}"


# -- configuration --------------------------------------------------------------------------

ModelFactory = Callable[[str], ChatModel]


def default_model_factory(
    env: Mapping[str, str] | None = None,
) -> tuple[ModelFactory, str]:
    """The models to use and a line saying which, from the environment.

    ``COLONY_OPENAI_BASE_URL`` (or ``OPENAI_BASE_URL``) selects an OpenAI-compatible endpoint
    and ``COLONY_MODEL`` its model (default :data:`DEFAULT_MODEL`); without an endpoint every
    agent gets an :class:`OfflineModel`.
    """
    env = os.environ if env is None else env
    base_url = env.get("COLONY_OPENAI_BASE_URL") or env.get("OPENAI_BASE_URL")
    if not base_url:
        return OfflineModel, "model: offline stand-ins (set COLONY_OPENAI_BASE_URL for an LLM)"
    name = env.get("COLONY_MODEL") or DEFAULT_MODEL

    def factory(role: str) -> ChatModel:
        return OpenAIChatModel(name, base_url=base_url)

    return factory, f"model: {name} at {base_url}"


def build_team(
    model_factory: ModelFactory | None = None,
    *,
    researchers: int = 3,
    checkpoints: Any = None,
    name: str = "research",
) -> Team:
    """The research team.

    Args:
        model_factory: Gives the model for a role (``supervisor``, ``researcher``,
            ``writer``); by default the environment decides (see :func:`default_model_factory`).
        researchers: How many researchers work in parallel.
        checkpoints: Where checkpoints go (see :class:`~orchestrator.Team`); None is the
            default embedded file ``.colony/checkpoints.sqlite``.
        name: The team's name.
    """
    if not isinstance(researchers, int) or researchers < 1:
        raise ValueError(f"researchers must be an int >= 1, got {researchers!r}")
    factory = model_factory or default_model_factory()[0]
    names = _researcher_names(researchers)
    agents = [
        Agent(
            "supervisor",
            _INSTRUCTIONS["supervisor"].format(researchers=researchers),
            factory("supervisor"),
            max_steps=2,
        ),
        *(
            Agent(n, _INSTRUCTIONS["researcher"], factory("researcher"), tools=[search])
            for n in names
        ),
        Agent("writer", _INSTRUCTIONS["writer"], factory("writer"), max_steps=2),
    ]
    return Team(name, agents, flow=Custom(_research_graph(names)), checkpoints=checkpoints)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the team on a task and print its report; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--task", default=DEFAULT_TASK, help="what to research")
    parser.add_argument("--runtime", choices=("local", "ray"), default="local")
    parser.add_argument("--researchers", type=int, default=3, help="parallel researchers")
    args = parser.parse_args(argv)
    factory, which = default_model_factory()
    print(which, file=sys.stderr)
    try:
        team = build_team(factory, researchers=args.researchers)
        result = team.run(args.task, runtime=args.runtime)
    except (ColonyError, ValueError) as exc:
        print(f"research_team: error: {exc}", file=sys.stderr)
        return 2
    for step in result.steps:
        print(f"[{step.agent}] {step.tool_calls} tool call(s)", file=sys.stderr)
    print(result.output)
    return 0 if result.status == "done" and result.success else 1


if __name__ == "__main__":
    sys.exit(main())
