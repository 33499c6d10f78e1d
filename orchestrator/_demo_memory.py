"""The memory half of ``colony demo``: versioned facts from a generated conversation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from memory import (
    SYSTEM,
    Conversation,
    MemoryService,
    Principal,
    RuleExtractor,
    Session,
    Turn,
)
from policies import HeuristicPolicy

TEAM_NAMESPACE = ("team", "demo")

# (days after the first session, speaker, text): facts that change over time, a hypothetical
# that must not change anything, and chit-chat the extractor drops.
_SCRIPT: list[list[tuple[str, str]]] = [
    [
        ("Ana", "Hi Ben! Long time no see."),
        ("Ben", "Hey Ana! How have you been?"),
        ("Ana", "Great. I live in Lisbon now."),
        ("Ana", "I work at a bakery near the river."),
        ("Ben", "Nice! I adopted a dog last week, his name is Pixel."),
    ],
    [
        ("Ana", "Big news: I moved to Porto two weeks ago."),
        ("Ben", "Wow, congratulations!"),
        ("Ana", "I work at a design studio now, I left the bakery."),
        ("Ben", "If I moved to Porto I would miss the beach."),
    ],
    [
        ("Ben", "Pixel turned two yesterday, we had a small party."),
        ("Ana", "Happy birthday Pixel! I started learning the cello last month."),
        ("Ben", "Thanks, bye for now!"),
    ],
]


def demo_conversation(start: datetime | None = None) -> Conversation:
    """A small generated two-person conversation with facts that change over time."""
    start = start or datetime(2025, 3, 2, 18, 30, tzinfo=UTC)
    sessions = []
    for index, lines in enumerate(_SCRIPT, start=1):
        when = start + timedelta(days=45 * (index - 1))
        turns = tuple(
            Turn(speaker=s, text=t, dia_id=f"D{index}:{n}", session=index, time=when)
            for n, (s, t) in enumerate(lines, start=1)
        )
        sessions.append(Session(index=index, time=when, turns=turns))
    return Conversation(id="demo", speakers=("Ana", "Ben"), sessions=tuple(sessions))


def run_memory_demo(service: MemoryService, *, echo: Callable[[str], None] = print) -> str | None:
    """Ingest the demo conversation, query it; returns the id of a memory that was updated."""
    conv = demo_conversation()
    agent = Principal.agent("demo", "archivist")
    echo("Memory demo: a conversation whose facts change over time (heuristic policy)")
    extractor = RuleExtractor()
    decisions: Counter[str] = Counter()
    changed: str | None = None
    for session in conv.sessions:
        candidates = extractor.extract(session, conv.speakers, TEAM_NAMESPACE)
        for applied in service.remember(candidates, principal=agent, policy=HeuristicPolicy()):
            op = applied.decision.operation.value
            decisions[op] += 1
            echo(f"  session {session.index}  {op:<6} {applied.candidate.text}")
            if op == "UPDATE" and applied.record is not None and changed is None:
                changed = applied.record.id
    echo("  decisions: " + ", ".join(f"{op}={n}" for op, n in sorted(decisions.items())))
    for question in ("Where does Ana live?", "Where did Ana live before?", "Where does Ana work?"):
        hits = service.search(question, principal=agent, namespace_prefix=TEAM_NAMESPACE, k=2)
        echo(f"  Q: {question}")
        for hit in hits:
            state = "current" if hit.record.is_current else "superseded"
            echo(f"     -> {hit.record.text}  [{state}, from {', '.join(hit.record.provenance)}]")
    if changed is not None:
        echo(f"  history of memory {changed}:")
        for entry in service.history(changed, principal=SYSTEM):
            echo(
                f"     {entry.operation.value:<6} v{entry.old_version}->v{entry.new_version} "
                f"policy={entry.policy} confidence={entry.confidence:.2f}: {entry.new_text}"
            )
    return changed
