"""Train a :class:`memory.SlotModel` on synthetic conversations (``colony policy slots``).

Training data are synthetic conversations (the statement head's in ``train-wide`` phrasing):
every candidate the rule extractor makes of a turn is labelled with the slot its statement
concerns and whether it is a distractor, and every question with the slot its evidence sets.
The recorded accuracy is on each held-out phrasing's conversations (from
``policies._synthetic.SLOT_HELDOUT_SEEDS``, which training refuses), so it measures how well
the heads read wordings they never saw; ``heldout3``'s, a family whose misses nobody has read,
is the unbiased one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from memory import Conversation, Embedder, extract_conversation, state_slots
from memory._slots import CLASSES, SLOTS, SlotModel, fit_softmax
from memory.errors import InvalidInputError
from policies._synthetic import (
    DISTRACTOR_KINDS,
    SLOT_HELDOUT_SEEDS,
    SLOT_VALIDATION_SEED,
    TRAINING_EXTRACTOR,
    TRAINING_PHRASINGS,
    SyntheticSample,
    check_training_seed,
    synthetic_samples,
)

__all__ = ["SLOT_VALIDATION_SEED", "slot_dataset", "train_slot_model"]

_SETS = frozenset(("initial", "change"))
Dataset = dict[str, tuple[list[str], npt.NDArray[np.int64]]]


def _without_names(text: str, names: Sequence[str]) -> str:
    """A question as the retriever embeds it: the people it names taken out."""
    for name in names:
        text = re.sub(rf"\b{re.escape(name)}(?:'s|')?", " ", text)
    return " ".join(text.split())


def slot_dataset(samples: Sequence[SyntheticSample]) -> Dataset:
    """Texts and labels of each head: ``{"statement" | "modality" | "question": (texts, y)}``."""
    data: dict[str, tuple[list[str], list[int]]] = {
        "statement": ([], []),
        "modality": ([], []),
        "question": ([], []),
    }
    for sample in samples:
        said = {st.dia_id: st for st in sample.statements}
        for candidate in extract_conversation(sample.conversation, TRAINING_EXTRACTOR):
            st = said.get(candidate.provenance[0]) if candidate.provenance else None
            if st is not None and st.kind == "mention":
                # About a slot, but sets none: taught as "none" the head misses held-out
                # statements that do set one, taught as the slot it tags chat about the topic
                # (benchmarks/README.md). Telling a mention from a change is the policy's job.
                continue
            slot = st.slot if st is not None and st.slot in SLOTS else None
            about_slot = st is not None and (st.kind in _SETS or st.kind in DISTRACTOR_KINDS)
            data["statement"][0].append(candidate.text)
            data["statement"][1].append(CLASSES.index(slot) if slot and about_slot else 0)
            if slot and about_slot:
                data["modality"][0].append(candidate.text)
                data["modality"][1].append(int(st is not None and st.kind in DISTRACTOR_KINDS))
        names = sample.conversation.speakers
        for q in sample.conversation.questions:
            st = said.get(q.evidence[0]) if q.evidence else None
            slot = st.slot if st is not None and st.slot in SLOTS else None
            data["question"][0].append(_without_names(q.question, names))
            data["question"][1].append(CLASSES.index(slot) if slot else 0)
    return {head: (texts, np.asarray(y, np.int64)) for head, (texts, y) in data.items()}


def negative_texts(conversations: Sequence[Conversation]) -> list[str]:
    """Candidates of real conversations that state no slot by the rules: ``none`` examples.

    Synthetic filler is a few dozen sentences; real chat (LoCoMo's training conversation)
    teaches the heads what the rest of life sounds like.
    """
    return [
        c.text
        for conv in conversations
        for c in extract_conversation(conv, TRAINING_EXTRACTOR)
        if not c.metadata.get("slots") and not state_slots(c.text, conv.speakers)
    ]


def _accuracy(
    model: SlotModel, head: str, vectors: npt.NDArray[np.float32], y: npt.NDArray[np.int64]
) -> float:
    return round(float((model.probabilities(head, vectors).argmax(axis=1) == y).mean()), 4)


def train_slot_model(
    embedder: Embedder,
    *,
    seed: int = 1,
    conversations: int = 120,
    negatives: Sequence[Conversation] = (),
    l2: float = 1e-4,
    statement_phrasing: str = "train-wide",
    statement_threshold: float = SlotModel.statement_threshold,
) -> SlotModel:
    """Fit the three heads on ``conversations`` conversations of ``seed``, plus the slot-free
    candidates of ``negatives`` (see :func:`negative_texts`).

    The statement head reads them in ``statement_phrasing``: ``train-wide`` (default), seven
    wordings of each state statement, or ``train``, the policy's three. The modality and
    question heads read ``train``: the wide phrasing adds wordings of facts and none of
    distractors, and a modality head fitted to it cost the learned policy 1.2 points of
    recall on LoCoMo's conv-30 (``benchmarks/README.md``).

    ``statement_threshold`` is the model's :attr:`memory.SlotModel.statement_threshold`
    (it decides which statements are tagged, not how the heads are fitted).

    Deterministic for a seed, phrasing and embedder. Raises :class:`InvalidInputError` for a
    seed reserved for validation, a phrasing that is not a training one, a threshold outside
    (0, 1], or fewer than two conversations.
    """
    check_training_seed(seed)
    SlotModel.check_threshold("statement_threshold", statement_threshold)
    if statement_phrasing not in TRAINING_PHRASINGS:
        raise InvalidInputError(
            f"statement_phrasing must be one of {sorted(TRAINING_PHRASINGS)} to train on, "
            f"got {statement_phrasing!r}"
        )
    if not isinstance(conversations, int) or conversations < 2:
        raise InvalidInputError(f"conversations must be an integer >= 2, got {conversations!r}")
    started = time.perf_counter()
    train = slot_dataset(synthetic_samples(conversations, seed))
    if statement_phrasing != "train":
        wide = synthetic_samples(conversations, seed, phrasing=statement_phrasing)
        train["statement"] = slot_dataset(wide)["statement"]
    if negatives:
        texts, y = train["statement"]
        extra = negative_texts(negatives)
        train["statement"] = ([*texts, *extra], np.concatenate([y, np.zeros(len(extra), np.int64)]))
    held = {
        phrasing: slot_dataset(synthetic_samples(5, held_seed, phrasing=phrasing))
        for phrasing, held_seed in SLOT_HELDOUT_SEEDS.items()
    }
    weights = {}
    sizes = {"statement": len(CLASSES), "modality": 2, "question": len(CLASSES)}
    for head, (texts, y) in train.items():
        weights[head] = fit_softmax(embedder.embed(texts), y, sizes[head], l2=l2)
    model = SlotModel(embedder.name, weights)
    accuracy = {
        phrasing: {
            head: _accuracy(model, head, embedder.embed(texts), y)
            for head, (texts, y) in data.items()
        }
        for phrasing, data in held.items()
    }
    meta = {
        "seed": seed,
        "conversations": conversations,
        "statement_phrasing": statement_phrasing,
        "negatives": [conv.id for conv in negatives],
        "l2": l2,
        "examples": {head: len(y) for head, (_, y) in train.items()},
        "heldout_accuracy": accuracy["heldout"],
        "heldout2_accuracy": accuracy["heldout2"],
        "heldout3_accuracy": accuracy["heldout3"],
        "validation_seed": SLOT_VALIDATION_SEED,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return replace(model, meta=meta, statement_threshold=statement_threshold)
