"""The slot model (memory._slots), its training, and how the service uses it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from memory import (
    SYSTEM,
    Candidate,
    Decision,
    HashEmbedder,
    MemoryService,
    MiniLMEmbedder,
    NewMemory,
    Operation,
    RetrievalWeights,
    ScoredMemory,
    SlotModel,
    extract_conversation,
    load_locomo,
    shipped_slot_model,
)
from memory._conversation import Conversation, Session, Turn
from memory._slots import CLASSES, fit_softmax
from memory.errors import InvalidInputError
from policies import MemoryManagerEnv
from policies._slot_training import SLOT_VALIDATION_SEED, negative_texts, train_slot_model
from policies._synthetic import RESERVED_SEEDS, TRAINING_EXTRACTOR

NS = ("team", "facts")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo"


def _constant_model(
    dim: int, *, question: str | None, distractor: bool = False, sure: float = 10.0
) -> SlotModel:
    """A model whose question head always answers ``question`` (biases only); ``sure`` is
    the winner's bias (10: probability ~1; 2.2: ~0.6 of seven classes)."""

    def head(classes: int, winner: int | None) -> np.ndarray:
        w = np.zeros((dim + 1, classes), np.float32)
        if winner is not None:
            w[-1, winner] = sure
        return w

    return SlotModel(
        f"hash-{dim}-0",
        {
            "statement": head(len(CLASSES), 0),
            "modality": head(2, 1 if distractor else 0),
            "question": head(len(CLASSES), None if question is None else CLASSES.index(question)),
        },
    )


class _Recorder:
    """A policy that records what it is shown and answers one operation."""

    name = "recorder"

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.candidates: list[Candidate] = []
        self.neighbours: list[ScoredMemory] = []

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        self.candidates.append(candidate)
        self.neighbours.extend(neighbours)
        return Decision(self.operation)


def test_fit_softmax_separates_classes_and_rejects_bad_labels() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8) * 4
    y = rng.integers(0, 3, 300)
    x = centres[y] + rng.normal(0, 0.5, (300, 8))
    w = fit_softmax(x, y, 3, steps=300, learning_rate=0.5)
    assert w.shape == (9, 3)
    assert ((x @ w[:-1] + w[-1]).argmax(axis=1) == y).mean() > 0.97
    with pytest.raises(InvalidInputError, match=r"labels must lie in 0\.\.2"):
        fit_softmax(x, y + 1, 3)
    with pytest.raises(InvalidInputError, match="one label per row"):
        fit_softmax(x, y[:10], 3)


def test_a_model_round_trips_and_refuses_bad_input(tmp_path: Path) -> None:
    model = _constant_model(16, question="car")
    loaded = SlotModel.load(model.save(tmp_path / "m.npz"))
    assert loaded.embedder == "hash-16-0" and loaded.dim == 16
    vector = np.ones(16, np.float32) / 4
    assert loaded.question_slots(vector) == [frozenset({"car"})]
    assert loaded.statement_slots(vector) == [frozenset()]
    with pytest.raises(InvalidInputError, match="reads 16-d vectors, got 8-d"):
        loaded.statement_slots(np.ones(8))
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(InvalidInputError, match="cannot read slot model"):
        SlotModel.load(tmp_path / "bad.npz")
    with pytest.raises(InvalidInputError, match="must be a SlotModel"):
        MemoryService.open(embedder=HashEmbedder(16), slot_model="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="the embedder gives 32-d"):
        MemoryService.open(embedder=HashEmbedder(32), slot_model=model)


def _statement_model(dim: int, probs: dict[str, float], **options: float) -> SlotModel:
    """A model whose statement head gives every statement the probabilities ``probs`` (the
    rest shared by the other classes)."""
    rest = (1.0 - sum(probs.values())) / (len(CLASSES) - len(probs))
    statement = np.zeros((dim + 1, len(CLASSES)), np.float32)
    statement[-1] = [np.log(probs.get(c, rest)) for c in CLASSES]
    base = _constant_model(dim, question=None)
    return SlotModel(base.embedder, {**base.weights, "statement": statement}, **options)


def test_a_statements_likeliest_slot_is_reported_from_the_statement_threshold() -> None:
    vector = np.ones(16, np.float32) / 4
    # "none" likelier, the slot above the threshold (0.3): a first value the head half knows.
    half = _statement_model(16, {"none": 0.45, "pet": 0.35})
    assert half.statement_slots(vector) == [frozenset({"pet"})]
    assert half.question_slots(vector) == [frozenset()]  # questions keep the argmax rule
    assert _statement_model(16, {"none": 0.6, "pet": 0.25}).statement_slots(vector) == [frozenset()]
    strict = _statement_model(16, {"none": 0.45, "pet": 0.35}, statement_threshold=0.4)
    assert strict.statement_slots(vector) == [frozenset()]
    # Two slots: the likelier one, never both.
    assert _statement_model(16, {"job": 0.32, "car": 0.31}).statement_slots(vector) == [
        frozenset({"job"})
    ]
    with pytest.raises(
        InvalidInputError, match=r"statement_threshold must be in \(0, 1\], got 0.0"
    ):
        _statement_model(16, {"pet": 0.5}, statement_threshold=0.0)


def test_the_statement_threshold_round_trips_and_tags_in_the_service(tmp_path: Path) -> None:
    model = _statement_model(256, {"none": 0.45, "hobby": 0.4}, statement_threshold=0.35)
    loaded = SlotModel.load(model.save(tmp_path / "m.npz"))
    assert loaded.statement_threshold == 0.35
    recorder = _Recorder(Operation.ADD)
    with MemoryService.open(embedder=HashEmbedder(), slot_model=loaded) as service:
        service.remember(
            [Candidate("Olga's new passion is knitting.", NS, speaker="Olga")],
            principal=SYSTEM,
            policy=recorder,
        )
    assert recorder.candidates[0].metadata["slots"] == ["hobby"]


def test_a_trained_model_tags_statements_in_the_service() -> None:
    embedder = HashEmbedder()
    model = train_slot_model(embedder, conversations=16)
    assert model.meta is not None and model.meta["validation_seed"] == SLOT_VALIDATION_SEED
    assert model.meta["statement_phrasing"] == "train-wide"
    for reserved in RESERVED_SEEDS:
        with pytest.raises(InvalidInputError, match="reserved for validation"):
            train_slot_model(embedder, seed=reserved)
    with pytest.raises(InvalidInputError, match="to train on, got 'heldout2'"):
        train_slot_model(embedder, statement_phrasing="heldout2")
    recorder = _Recorder(Operation.ADD)
    said = "I just moved to Lisbon with my family."
    narrative = (
        "We spent the whole weekend at the lake, the kids swam every day, the weather was "
        "perfect and on Sunday we finally moved to a bigger tent near the water."
    )
    with MemoryService.open(embedder=embedder, slot_model=model) as service:
        service.remember(
            [Candidate(said, NS, speaker="Ana"), Candidate(narrative, NS, speaker="Ana")],
            principal=SYSTEM,
            policy=recorder,
        )
    statement, long_turn = recorder.candidates
    assert "residence" in statement.metadata["slots"]
    # A narrative is not tagged by the model: only the extractor's rules speak for it.
    assert long_turn.metadata["slots"] == []


def test_a_candidate_sees_its_speakers_memory_of_the_same_slot() -> None:
    embedder = HashEmbedder()
    recorder = _Recorder(Operation.NOOP)
    seen = recorder.neighbours
    with MemoryService.open(embedder=embedder, slot_model=None) as service:
        service.add_many(
            [
                NewMemory(NS, f"Ana's daily ride to the office took {i} minutes today.")
                for i in range(12)
            ],
            principal=SYSTEM,
        )
        (old_car,) = service.add_many(
            [
                NewMemory(
                    NS, "Ana drives a Ford Focus.", metadata={"slots": ["car"], "speaker": "Ana"}
                )
            ],
            principal=SYSTEM,
        )
        candidate = Candidate(
            "Ana's daily ride is a Honda Civic now.",
            NS,
            speaker="Ana",
            metadata={"slots": ["car"]},
        )
        service.remember([candidate], principal=SYSTEM, policy=recorder)
        assert old_car.id in [hit.record.id for hit in seen]
        assert len(seen) == 5
        scores = [hit.score for hit in seen]
        assert scores == sorted(scores, reverse=True)  # still best first
        seen.clear()
        # Without the slot, the deep same-slot memory is not among the five nearest.
        service.remember(
            [Candidate(candidate.text, NS, speaker="Ana")], principal=SYSTEM, policy=recorder
        )
        assert old_car.id not in [hit.record.id for hit in seen]


def test_a_query_about_a_slot_holds_back_other_memories_and_distractors() -> None:
    embedder = HashEmbedder()
    memories = [
        NewMemory(NS, "Ana talked about her car wash on Sunday.", metadata={"speaker": "Ana"}),
        NewMemory(
            NS,
            "Ana said maybe one day she will buy a car, a Tesla.",
            metadata={"speaker": "Ana", "slots": ["car"], "distractor": True},
        ),
        NewMemory(
            NS, "Ana's car is an old Ford Focus.", metadata={"speaker": "Ana", "slots": ["car"]}
        ),
    ]
    ranked = {}
    for name, model in (("off", None), ("on", _constant_model(256, question="car"))):
        with MemoryService.open(embedder=embedder, slot_model=model) as service:
            service.add_many(memories, principal=SYSTEM)
            hits = service.search("What car does Ana have?", principal=SYSTEM, k=3)
            ranked[name] = [hit.record.text for hit in hits]
    assert ranked["on"][0] == "Ana's car is an old Ford Focus."
    assert ranked["off"][0] != "Ana's car is an old Ford Focus."
    # slot_factor=1 turns the prior off (and slot=0 the ranking of Ana's statements of it).
    with MemoryService.open(
        embedder=embedder,
        slot_model=_constant_model(256, question="car"),
        weights=RetrievalWeights(slot_factor=1.0, slot=0.0),
    ) as service:
        service.add_many(memories, principal=SYSTEM)
        hits = service.search("What car does Ana have?", principal=SYSTEM, k=3)
        assert [hit.record.text for hit in hits] == ranked["off"]


def test_a_query_about_a_speakers_slot_ranks_their_statements_of_it_newest_first() -> None:
    embedder = HashEmbedder()
    car = {"speaker": "Ana", "slots": ["car"]}
    memories = [
        NewMemory(NS, "Ana drove a Ford Focus for years.", metadata=car),
        NewMemory(
            NS, "Ana: what car does Ben have? Ben: a Tesla.", metadata={**car, "speaker": "Ben"}
        ),
        NewMemory(NS, "Ana got a Honda Civic in May.", metadata=car),
        NewMemory(
            NS, "Ana said maybe one day she'll get a Porsche.", metadata={**car, "distractor": True}
        ),
        NewMemory(
            NS, "Ana asked what car to rent, and what car Ben has.", metadata={"speaker": "Ana"}
        ),
        NewMemory(
            NS,
            "Big news from Ana's sister: she got a Skoda.",
            metadata={**car, "about_other": True},  # the extractor's mark of a relative's news
        ),
        # What she would do, as she said it: the newest statement of the slot, no fact.
        NewMemory(
            NS,
            "Ana would get a Mini tomorrow.",
            metadata={**car, "original": "I'd get a Mini tomorrow."},
        ),
    ]

    def search(query: str, *, sure: float = 10.0, slot: float = 1.0) -> list[ScoredMemory]:
        model = _constant_model(256, question="car", sure=sure)
        weights = RetrievalWeights(slot=slot)
        with MemoryService.open(embedder=embedder, slot_model=model, weights=weights) as service:
            service.add_many(memories, principal=SYSTEM)
            return service.search(query, principal=SYSTEM, k=5)

    hits = search("What car does Ana have now?")
    # Ana's own statements of her car, newest first; not Ben's, not a daydream or a wish,
    # not her sister's news.
    ranks = {hit.record.text: hit.components["slot"] for hit in hits if "slot" in hit.components}
    assert ranks == {"Ana got a Honda Civic in May.": 0.0, "Ana drove a Ford Focus for years.": 1.0}
    assert hits[0].record.text == "Ana got a Honda Civic in May."
    off = search("What car does Ana have now?", slot=0.0)
    assert all("slot" not in hit.components for hit in off)
    assert off[0].record.text != "Ana got a Honda Civic in May."
    # A question that asks when names the statement it wants: the newest is no better.
    for query in ("When did Ana get the Ford Focus?", "What was the date Ana got her car?"):
        assert all("slot" not in hit.components for hit in search(query))
    # Nor when the model is less sure of the slot than slot_sure (0.8): p ~0.6 here.
    hits = search("What car does Ana have now?", sure=2.2)
    assert all("slot" not in hit.components for hit in hits)


def test_the_slot_ranking_survives_reopening_the_store(tmp_path: Path) -> None:
    car = {"speaker": "Ana", "slots": ["car"]}
    when = [datetime(2024, 1, day, tzinfo=UTC) for day in (1, 9, 5)]
    memories = [
        NewMemory(NS, "Ana drove a Ford Focus.", metadata=car, valid_from=when[0]),
        NewMemory(NS, "Ana drives a Honda Civic now.", metadata=car, valid_from=when[1]),
        # Written last but dated between the two: the ranking goes by the event time.
        NewMemory(NS, "Ana borrowed a Fiat Panda.", metadata=car, valid_from=when[2]),
    ]
    model = _constant_model(256, question="car")
    path = tmp_path / "memory.duckdb"

    def ranks() -> dict[str, float]:
        with MemoryService.open(path, embedder=HashEmbedder(), slot_model=model) as service:
            if not service.stats()["current"]:
                service.add_many(memories, principal=SYSTEM)
            hits = service.search("What car does Ana drive?", principal=SYSTEM, k=3)
            return {hit.record.text: hit.components["slot"] for hit in hits}

    written = ranks()
    assert written == {
        "Ana drives a Honda Civic now.": 0.0,
        "Ana borrowed a Fiat Panda.": 1.0,
        "Ana drove a Ford Focus.": 2.0,
    }
    assert ranks() == written  # rebuilt from the file


class _UpdateFirst:
    """A policy that updates the nearest memory."""

    name = "update-first"

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        return Decision(Operation.UPDATE, target=neighbours[0].record.id)


def test_an_update_drops_the_old_statements_flags_and_keeps_the_memorys_own() -> None:
    # A denial flagged as a distractor, then the fact that replaces it: the flag described
    # the denial, and must not hold the fact back in search.
    denial = Candidate(
        "That's a rumour, Ana didn't take up archery.",
        NS,
        speaker="Ana",
        metadata={
            "speaker": "Ana",
            "slots": ["hobby"],
            "distractor": True,
            "original": "That's a rumour, I didn't take up archery.",
            "project": "clubs",
        },
    )
    fact = Candidate(
        "Lately it's all about surfing for Ana.",
        NS,
        speaker="Ana",
        metadata={
            "speaker": "Ana",
            "slots": ["hobby"],
            "original": "Lately it's all about surfing for me.",
        },
    )
    model = _constant_model(256, question="hobby")
    with MemoryService.open(embedder=HashEmbedder(), slot_model=model) as service:
        service.remember([denial], principal=SYSTEM, policy=_Recorder(Operation.ADD))
        (applied,) = service.remember([fact], principal=SYSTEM, policy=_UpdateFirst())
        assert applied.decision.operation is Operation.UPDATE and applied.record is not None
        metadata = applied.record.metadata
        assert "distractor" not in metadata
        assert metadata["original"] == "Lately it's all about surfing for me."
        assert metadata["project"] == "clubs"  # the memory's own, kept
        (hit,) = service.search("What is Ana's hobby now?", principal=SYSTEM, k=1)
        assert hit.record.text == fact.text and hit.components["slot"] == 0.0


def test_the_shipped_model_is_found_by_embedder_name() -> None:
    model = shipped_slot_model(MiniLMEmbedder.name)
    assert model is not None and model.dim == MiniLMEmbedder.dim
    assert model.meta is not None and model.meta["heldout_accuracy"]["statement"] > 0.9
    assert model.meta["heldout2_accuracy"]["statement"] > 0.9
    # On the family nobody has read for misses (0.908 when recorded, against 0.966 / 0.954).
    assert model.meta["heldout3_accuracy"]["statement"] > 0.85
    assert shipped_slot_model("hash-256-0") is None
    assert MemoryService.open(embedder=HashEmbedder()).slot_model is None


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "conv-26.json").is_file(), reason="needs ../shared/data/locomo")
def test_the_shipped_model_is_reproduced_by_its_training_command() -> None:
    shipped = shipped_slot_model(MiniLMEmbedder.name)
    assert shipped is not None and shipped.meta is not None
    retrained = train_slot_model(
        MiniLMEmbedder(),
        seed=shipped.meta["seed"],
        conversations=shipped.meta["conversations"],
        negatives=load_locomo([DATA / "conv-26.json"]),
        statement_phrasing=shipped.meta["statement_phrasing"],
    )
    for head, weights in shipped.weights.items():
        np.testing.assert_allclose(retrained.weights[head], weights, atol=1e-5)
    assert retrained.meta is not None
    assert retrained.meta["heldout_accuracy"] == shipped.meta["heldout_accuracy"]
    assert retrained.meta["heldout2_accuracy"] == shipped.meta["heldout2_accuracy"]
    assert retrained.meta["heldout3_accuracy"] == shipped.meta["heldout3_accuracy"]


def test_the_training_recipes_read_conversations_as_the_shipped_models_were_trained() -> None:
    # The memory keeps reactions; the recipes (the tagger's negatives, the policy's episodes)
    # drop them, so their commands still reproduce the shipped tagger (above) and checkpoint.
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    lines = [
        ("Ana", "I baked bread with my kids at the weekend."),
        ("Ben", "That's awesome! Such a lovely pic."),
    ]
    turns = tuple(Turn(who, said, f"D1:{i}", 1, when) for i, (who, said) in enumerate(lines, 1))
    conv = Conversation("c", ("Ana", "Ben"), (Session(1, when, turns),))
    kept = [c.text for c in extract_conversation(conv)]
    assert "Ben: Such a lovely pic." in kept
    assert TRAINING_EXTRACTOR.drop_reactions
    assert not any("lovely pic" in text for text in negative_texts([conv]))
    assert any("bread" in text for text in negative_texts([conv]))
    episode = MemoryManagerEnv([conv])._prepared[0]  # what an episode streams
    assert [c.text for c in episode.candidates] == [kept[0]]
