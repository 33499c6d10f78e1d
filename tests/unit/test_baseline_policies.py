"""Add-all and the similarity/slot heuristic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from memory import (
    SYSTEM,
    Candidate,
    HashEmbedder,
    MemoryRecord,
    MemoryService,
    Operation,
    ScoredMemory,
    Tier,
)
from memory.errors import InvalidInputError
from policies import AddAllPolicy, HeuristicPolicy, available_policies, make_policy

NS = ("team", "t")


def hit(text: str, sim: float, memory_id: str = "m1", speaker: str = "Ana") -> ScoredMemory:
    record = MemoryRecord(
        id=memory_id,
        namespace=NS,
        tier=Tier.SEMANTIC,
        text=text,
        version=1,
        author="agent:t/a",
        recorded_at=datetime(2024, 1, 1, tzinfo=UTC),
        entities=(speaker,),
        metadata={"speaker": speaker},
    )
    return ScoredMemory(record, sim, {"vector": sim})


def cand(text: str, speaker: str = "Ana") -> Candidate:
    return Candidate(text=text, namespace=NS, speaker=speaker, entities=(speaker,))


def test_add_all_always_adds() -> None:
    decision = AddAllPolicy().decide(cand("Ana lives in Porto"), [hit("Ana lives in Porto", 1.0)])
    assert decision.operation is Operation.ADD


@pytest.mark.parametrize(
    ("text", "neighbours", "expected"),
    [
        ("Ana lives in Porto", [], Operation.ADD),
        ("Ana lives in Porto", [hit("Ana lives in Porto.", 0.97)], Operation.NOOP),
        ("Ana moved to Porto", [hit("Ana lives in Lisbon", 0.7)], Operation.UPDATE),
        ("Ana works at a bakery now", [hit("Ana works at the bank", 0.72)], Operation.UPDATE),
        ("Ana no longer has the red car", [hit("Ana has a red car", 0.8)], Operation.DELETE),
        ("Ana sold Ana's car", [hit("Ana has a red car", 0.7)], Operation.DELETE),
        (
            "Ana works at a design studio now, Ana left the bakery",
            [hit("Ana works at a bakery", 0.7)],
            Operation.UPDATE,
        ),
        (
            "Ana sold the car and Ana drives a bike now",
            [hit("Ana drives a red car", 0.7)],
            Operation.UPDATE,
        ),
        (
            "If Ana moved to Porto she would be happy",
            [hit("Ana lives in Lisbon", 0.7)],
            Operation.ADD,
        ),
        (
            "Ana never moved to Porto, that is a rumour",
            [hit("Ana lives in Lisbon", 0.7)],
            Operation.ADD,
        ),
        ("Ana likes jazz", [hit("Ana lives in Lisbon", 0.4)], Operation.ADD),
        ("   ", [], Operation.NOOP),
    ],
)
def test_heuristic_decisions(
    text: str, neighbours: list[ScoredMemory], expected: Operation
) -> None:
    decision = HeuristicPolicy().decide(cand(text), neighbours)
    assert decision.operation is expected, decision
    if expected in (Operation.UPDATE, Operation.DELETE):
        assert decision.target == "m1"
    assert 0.0 <= decision.confidence <= 1.0


def test_heuristic_never_updates_someone_else() -> None:
    decision = HeuristicPolicy().decide(
        cand("Ben moved to Porto", speaker="Ben"), [hit("Ana lives in Lisbon", 0.7)]
    )
    assert decision.operation is Operation.ADD


def test_registry() -> None:
    assert available_policies() == ["add-all", "heuristic", "learned"]
    assert make_policy("heuristic").name == "heuristic"
    with pytest.raises(InvalidInputError, match="'nope'"):
        make_policy("nope")


def test_heuristic_slots_need_their_subject() -> None:
    # "nice job" states nothing about anyone's job
    decision = HeuristicPolicy().decide(
        cand("Ben: Nice job on the painting!", speaker="Ben"),
        [hit("Ben works at the bank", 0.8, speaker="Ben")],
    )
    assert decision.operation is Operation.ADD


def test_heuristic_never_rewrites_a_turn_narrative() -> None:
    narrative = hit("Ana: The parade was fun. Ana lives in Lisbon.", 0.8)
    narrative.record.metadata["slots"] = []  # the extractor marks narrative memories
    decision = HeuristicPolicy().decide(cand("Ana moved to Porto"), [narrative])
    assert decision.operation is Operation.ADD


def test_heuristic_reads_the_statement_not_the_question_before_it() -> None:
    candidate = Candidate(
        text="Ben: Does Ana still live in Lisbon? Ana is learning the cello.",
        namespace=NS,
        speaker="Ana",
        entities=("Ana",),
        metadata={"original": "I'm learning the cello."},
    )
    decision = HeuristicPolicy().decide(candidate, [hit("Ana lives in Lisbon", 0.7)])
    assert decision.operation is Operation.ADD


def test_heuristic_never_makes_a_fact_the_new_version_of_a_distractor(tmp_path: Path) -> None:
    denied = hit("Ana never moved to Oslo, honestly.", 0.8, "m1")
    lived = hit("Ana lives in Lisbon", 0.7, "m2")
    moved = cand("Ana moved to Porto")
    assert HeuristicPolicy().decide(moved, [denied, lived]).target == "m1"
    denied.record.metadata["distractor"] = True  # as the service's slot model marks it
    decision = HeuristicPolicy().decide(moved, [denied, lived])
    assert (decision.operation, decision.target) == (Operation.UPDATE, "m2")
    assert HeuristicPolicy().decide(moved, [denied]).operation is Operation.ADD
    # Through a store: the denial stays as it was, and Porto's history does not start at Oslo.
    with MemoryService.open(
        tmp_path / "m.duckdb", embedder=HashEmbedder(), policy=HeuristicPolicy()
    ) as service:
        flagged = {"distractor": True, "slots": ["residence"]}
        said = Candidate("Ana never moved to Oslo, honestly.", NS, speaker="Ana", metadata=flagged)
        applied = service.remember(
            [said, Candidate("Ana moved to Oslo", NS, speaker="Ana")], principal=SYSTEM
        )
        assert [a.decision.operation for a in applied] == [Operation.ADD, Operation.ADD]
        assert applied[0].record is not None
        kept = service.get(applied[0].record.id, principal=SYSTEM)
        assert kept.version == 1 and kept.text == said.text
        assert service.stats()["current"] == 2


def test_heuristic_adds_a_second_value_next_to_the_first() -> None:
    decision = HeuristicPolicy().decide(
        cand("Ana got another cat named Bailey"), [hit("Ana has a cat", 0.8)]
    )
    assert decision.operation is Operation.ADD and decision.reason == "added value"


def test_cue_triggers_never_hide_a_match() -> None:
    """Each cue's trigger words are a pure speed-up: same answer as its regex, on real text."""
    from memory._english import (
        HYPOTHETICAL_PATTERN,
        HYPOTHETICAL_WORDS,
        RELATIVE_PATTERN,
        RELATIVE_WORDS,
        hypothetical,
    )
    from policies._baselines import _ADDITIVE, _DENIAL, _RETRACTION, _Cue
    from policies._synthetic import synthetic_samples

    texts = [
        turn.text
        for phrasing in ("train", "heldout")
        for sample in synthetic_samples(6, 7, phrasing=phrasing)
        for turn in sample.conversation.turns
    ]
    texts += [
        "No, that's not true.",
        "I don't have it anymore, not any more.",
        "We broke up; I gave up the flat and left.",
        "What if I'm dreaming of a second cat as well? One more, too.",
        "He isn't joking, it was a rumor.",
        "IF I WOULD, I'D PLAN TO MOVE.",
        "It’d be odd; I wonder whether, supposing I'm tempted to, we'd go. Ted'd not.",
        "I'm dating Edd and we drove to Madrid.",
        "My co-worker and my best friend met my Neighbor and my KIDS.",
    ]
    # memory._english's hypothetical and relative_news look for their words before the pattern.
    wishes = _Cue(HYPOTHETICAL_PATTERN, HYPOTHETICAL_WORDS)
    cues = (wishes, _DENIAL, _RETRACTION, _ADDITIVE, _Cue(RELATIVE_PATTERN, RELATIVE_WORDS))
    matched = 0
    for text in texts:
        assert hypothetical(text) == (wishes.pattern.search(text) is not None), text
        for cue in cues:
            expected = cue.pattern.search(text)
            assert (cue.search(text) is None) == (expected is None), (cue.pattern.pattern, text)
            matched += expected is not None
    assert matched > 30  # the texts exercise every cue, not just its absence
