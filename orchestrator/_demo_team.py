"""The team half of ``colony demo``: a help desk that gets better from its own insight memory.

A two-agent team answers questions whose answers each live behind one of four lookup tools.
Its offline model knows nothing about the tasks: it tries the tools it is offered in order,
preferring tools that the recalled insights say worked for similar tasks and leaving for last
tools they say did not help. Any gain over the same team without memory therefore comes from
what memory returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents import Agent, ChatResponse, FunctionModel, Message, ToolCall, ToolSpec, Usage
from memory import MemoryService, Principal, Tier
from orchestrator._team import RunResult, Team

__all__ = [
    "HELPDESK_NAMESPACE",
    "DemoPass",
    "InsightGuidedModel",
    "build_helpdesk",
    "helpdesk_tasks",
    "run_team_demo",
]

HELPDESK = "helpdesk"
HELPDESK_NAMESPACE = ("team", HELPDESK)
"""Where the help-desk team's runs, tasks and insights live (``("team", <team>, ...)``)."""

# desk -> {key phrase found in a question: answer}; the first three of each desk are asked
# in pass 1, the last three in pass 2.
_DESKS: dict[str, dict[str, str]] = {
    "policies": {
        "travel expenses": "Travel expenses need a receipt and manager approval within 30 days.",
        "remote work": "Remote work is allowed three days a week with team agreement.",
        "parental leave": "Parental leave is 20 weeks at full pay.",
        "gifts from suppliers": "Gifts from suppliers above 50 euros must be declared.",
        "overtime": "Overtime is paid at 150 percent after 40 hours a week.",
        "laptop upgrades": "Laptops are upgraded every three years.",
    },
    "calendar": {
        "quarterly review": "The quarterly review is on 14 March at 10:00 in room 4.",
        "summer party": "The summer party is on 21 June at the river terrace.",
        "security training": "Security training is on 3 February, online.",
        "board meeting": "The board meeting is on 9 April at 15:00.",
        "hackathon": "The hackathon runs from 12 to 13 May in the main hall.",
        "town hall": "The town hall is on 30 January at 16:00.",
    },
    "inventory": {
        "printer paper": "There are 42 boxes of printer paper in stock.",
        "usb-c chargers": "There are 17 USB-C chargers in stock.",
        "standing desks": "There are 5 standing desks in stock.",
        "whiteboard markers": "There are 120 whiteboard markers in stock.",
        "monitors": "There are 9 monitors in stock.",
        "office chairs": "There are 14 office chairs in stock.",
    },
    "directory": {
        "ana lima": "Ana Lima's phone extension is 4411.",
        "ben okafor": "Ben Okafor's phone extension is 2307.",
        "chen wei": "Chen Wei's phone extension is 5120.",
        "dara kim": "Dara Kim's phone extension is 3389.",
        "eli novak": "Eli Novak's phone extension is 6042.",
        "fatima diallo": "Fatima Diallo's phone extension is 7715.",
    },
}

_QUESTIONS = {
    "policies": "What is the company rule for {}?",
    "calendar": "When is the {}?",
    "inventory": "How many {} are in stock?",
    "directory": "What is the phone extension of {}?",
}


def _lookup(desk: str) -> Callable[[str], str]:
    entries = _DESKS[desk]

    def search(query: str) -> str:
        text = query.lower()
        for key, answer in entries.items():
            if key in text:
                return answer
        raise LookupError(f"the {desk} desk knows nothing about {query!r}")

    search.__name__ = f"search_{desk}"
    search.__doc__ = f"Search the {desk} desk.\n\nArgs:\n    query: What to look for."
    return search


def helpdesk_tasks(part: int) -> list[tuple[str, str]]:
    """``(question, expected answer)`` for pass ``part`` (1 or 2), desks interleaved."""
    chosen = slice(0, 3) if part == 1 else slice(3, 6)
    per_desk = {
        desk: [
            (_QUESTIONS[desk].format(key.title() if desk == "directory" else key), answer)
            for key, answer in list(entries.items())[chosen]
        ]
        for desk, entries in _DESKS.items()
    }
    return [pair for group in zip(*per_desk.values(), strict=True) for pair in group]


_CALLED = re.compile(r"called (\w+)\(")
_FAILED = re.compile(r"((?:\w+, )*\w+) did not help")


class InsightGuidedModel:
    """An offline stand-in for an LLM that reads recalled insights the way a model would.

    It tries the offered tools one per request with the task as the query, in the offered
    order except that tools the shared memory says worked come first and tools it says did
    not help come last. It answers with the first tool result that is not an error. It has
    no knowledge of any task.
    """

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Call the next most promising tool, or answer with the result that worked."""
        prompt = sum(len(m.content.split()) for m in messages)
        last = messages[-1]
        if last.role == "tool" and not last.content.startswith("error:"):
            return ChatResponse(Message("assistant", last.content), Usage(prompt, 20))
        task = next(m.content for m in messages if m.role == "user").split("\n\n")[0]
        memory = "\n".join(
            m.content for m in messages if m.role == "system" and m.content.startswith("Shared")
        )
        worked = list(dict.fromkeys(_CALLED.findall(memory)))
        failed = {name for group in _FAILED.findall(memory) for name in group.split(", ")}
        tried = {c.name for m in messages if m.role == "assistant" for c in m.tool_calls}
        names = [t.name for t in tools]
        order = (
            [n for n in worked if n in names and n not in failed]
            + [n for n in names if n not in worked and n not in failed]
            + [n for n in names if n in failed]
        )
        for name in order:
            if name not in tried:
                call = ToolCall(f"call-{len(tried) + 1}", name, {"query": task})
                return ChatResponse(Message("assistant", "", tool_calls=(call,)), Usage(prompt, 10))
        return ChatResponse(Message("assistant", "I could not find it."), Usage(prompt, 5))


def _scribe_reply(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> ChatResponse:
    """The scribe passes the desk's finding on as the team's answer."""
    user = messages[-1].content
    state: dict[str, Any] = json.loads(user.split("State:\n", 1)[1]) if "State:\n" in user else {}
    previous = state.get("previous", [])
    finding = previous[-1]["output"] if previous else "no finding"
    text = f"Answer: {finding}"
    return ChatResponse(Message("assistant", text), Usage(len(user.split()), len(text.split())))


def build_helpdesk(
    *, memory: MemoryService | None, checkpoints: Any, expected: dict[str, str]
) -> Team:
    """The help-desk team: ``desk`` looks the answer up, ``scribe`` writes the reply."""
    desk = Agent(
        "desk",
        "Answer the question by looking it up with the desk tools.",
        InsightGuidedModel(),
        tools=tuple(_lookup(name) for name in _DESKS),
        max_steps=4,
    )
    scribe = Agent("scribe", "Write the reply to the requester.", FunctionModel(_scribe_reply))
    return Team(
        HELPDESK,
        [desk, scribe],
        memory=memory,
        checkpoints=checkpoints,
        judge=lambda task, result: expected[task] in result.output,
        learn=memory is not None,
    )


@dataclass(frozen=True)
class DemoPass:
    """One pass over a task set by one team."""

    team: str
    part: int
    tasks: int
    succeeded: int
    model_steps: int

    @property
    def success_rate(self) -> float:
        """Share of tasks answered correctly."""
        return self.succeeded / self.tasks

    @property
    def steps_per_task(self) -> float:
        """Mean model requests per task (both agents)."""
        return self.model_steps / self.tasks


def _run_pass(team: Team, part: int, label: str) -> tuple[DemoPass, list[RunResult]]:
    results = []
    with team.session() as session:
        for task, _ in helpdesk_tasks(part):
            results.append(session.run(task))
    return (
        DemoPass(
            label,
            part,
            len(results),
            sum(bool(r.success) for r in results),
            sum(r.model_steps for r in results),
        ),
        results,
    )


def run_team_demo(
    memory: MemoryService, checkpoints: Path, *, echo: Callable[[str], None] = print
) -> list[DemoPass]:
    """Run the help desk twice with insight memory and twice without; report both."""
    expected = dict(helpdesk_tasks(1) + helpdesk_tasks(2))
    with_memory = build_helpdesk(memory=memory, checkpoints=checkpoints, expected=expected)
    without = build_helpdesk(memory=None, checkpoints=checkpoints, expected=expected)
    echo("Team demo: help desk (agents desk -> scribe), 12 questions per pass, offline model")
    passes = []
    for part in (1, 2):
        base, _ = _run_pass(without, part, "no memory")
        mem, results = _run_pass(with_memory, part, "insight memory")
        passes += [base, mem]
        for run in (base, mem):
            echo(
                f"  pass {part}  {run.team:<14} solved {run.succeeded:>2}/{run.tasks}  "
                f"{run.steps_per_task:.2f} model steps per task"
            )
        if part == 1:
            first = results[0]
            echo(f"  e.g. {first.task!r} -> {first.output!r} in thread {first.thread_id}")
    kept = memory.search(
        helpdesk_tasks(2)[-1][0],
        principal=Principal.user("demo", teams=("helpdesk",)),
        namespace_prefix=("team", "helpdesk", "insights"),
        tiers=[Tier.INSIGHT],
        k=1,
    )
    if kept:
        echo(f"  an insight the team wrote for itself (utility {kept[0].record.utility:+.0f}):")
        echo(f"    {kept[0].record.text}")
    return passes
