"""A learned tagger of state slots over sentence embeddings.

Rules (:func:`memory.state_slots`) see a slot only where a known verb or noun follows its
subject: "I moved to Porto" is a residence, "home for me is Porto right now" is nothing. A
:class:`SlotModel` reads the meaning instead: three linear softmax heads over the embedding a
memory already has, each a ``(dim, classes)`` matrix (so tagging costs one small matrix
product, no model call):

- ``statement``: which slot a statement sets (``none`` or one of :data:`SLOTS`);
- ``modality``: whether it asserts the speaker's own fact or is a distractor (hypothetical,
  denied, or about someone else);
- ``question``: which slot a question asks about.

A model belongs to the embedder it was trained on (its vectors mean nothing to another), so
:func:`shipped_slot_model` looks the model up by embedder name; ``policies.train_slot_model``
trains one (``colony policy slots``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.errors import InvalidInputError

__all__ = ["SLOTS", "SlotModel", "fit_softmax", "shipped_slot_model"]

SLOTS: tuple[str, ...] = ("residence", "job", "car", "pet", "partner", "hobby")
CLASSES: tuple[str, ...] = ("none", *SLOTS)
MODELS_DIR = Path(__file__).parent / "models"
_HEADS = ("statement", "modality", "question")
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SlotModel:
    """Linear heads over one embedder's vectors (see the module docstring).

    Attributes:
        embedder: Name of the embedder whose vectors the heads read.
        weights: ``head -> (W, b)``, ``W`` of shape ``(dim + 1, classes)`` with the bias as
            its last row.
        threshold: Probability a question's slot needs to be reported, when it is also
            likelier than ``none``.
        distractor_threshold: Probability a distractor needs to be reported.
        statement_threshold: Probability a statement's likeliest slot needs to be reported,
            even when ``none`` is likelier. A first value said in a wording the head half
            knows ("Olga's new passion is knitting": none 0.48, hobby 0.48) is then tagged,
            so the value that later replaces it finds it; an untagged one would stay current
            beside it. Set from measurements (benchmarks/README.md, issue 4's tenth round).
        meta: How the model was trained (seed, data, held-out accuracy).
    """

    embedder: str
    weights: dict[str, Matrix]
    threshold: float = 0.4
    distractor_threshold: float = 0.5
    meta: dict[str, Any] | None = None
    statement_threshold: float = 0.3

    def __post_init__(self) -> None:
        missing = [head for head in _HEADS if head not in self.weights]
        if missing:
            raise InvalidInputError(f"slot model lacks the head(s) {missing}")
        rows = {w.shape[0] for w in self.weights.values()}
        if len(rows) != 1:
            raise InvalidInputError(f"slot model heads disagree on the input size: {rows}")
        for name in ("threshold", "distractor_threshold", "statement_threshold"):
            self.check_threshold(name, getattr(self, name))

    @staticmethod
    def check_threshold(name: str, value: float) -> None:
        """Raise :class:`InvalidInputError` unless ``value`` is a probability in (0, 1]."""
        if not 0.0 < value <= 1.0:
            raise InvalidInputError(f"slot model {name} must be in (0, 1], got {value!r}")

    @property
    def dim(self) -> int:
        """Size of the embeddings the model reads."""
        return int(self.weights["statement"].shape[0]) - 1

    def probabilities(self, head: str, vectors: npt.ArrayLike) -> Matrix:
        """Class probabilities of ``head`` for each row of ``vectors``."""
        x = np.asarray(vectors, np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.dim:
            raise InvalidInputError(
                f"slot model for {self.embedder!r} reads {self.dim}-d vectors, got {x.shape[1]}-d"
            )
        w = self.weights[head]
        return _softmax(x @ w[:-1] + w[-1])

    def statement_slots(self, vectors: npt.ArrayLike) -> list[frozenset[str]]:
        """The slot each statement sets: its likeliest slot when that has at least
        ``statement_threshold``, whatever ``none``'s probability; else empty."""
        probs = self.probabilities("statement", vectors)[:, 1:]
        best = probs.argmax(axis=1)
        return [
            frozenset((SLOTS[c],)) if probs[i, c] >= self.statement_threshold else frozenset()
            for i, c in enumerate(best)
        ]

    def question_slots(self, vectors: npt.ArrayLike) -> list[frozenset[str]]:
        """The slot each question asks about (empty when none is sure)."""
        return self._slots(self.probabilities("question", vectors))

    def question_slots_of(self, probs: Matrix) -> list[frozenset[str]]:
        """:meth:`question_slots` from the question head's probabilities, already computed."""
        return self._slots(probs)

    def distractor(self, vectors: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where a statement is hypothetical, denied or about someone else."""
        return self.probabilities("modality", vectors)[:, 1] >= self.distractor_threshold

    def _slots(self, probs: Matrix) -> list[frozenset[str]]:
        best = probs.argmax(axis=1)
        return [
            frozenset((CLASSES[c],)) if c and probs[i, c] >= self.threshold else frozenset()
            for i, c in enumerate(best)
        ]

    def save(self, path: str | Path) -> Path:
        """Write the model as ``.npz`` (weights, plus its metadata as JSON)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        header = {
            **(self.meta or {}),
            "embedder": self.embedder,
            "threshold": self.threshold,
            "distractor_threshold": self.distractor_threshold,
            "statement_threshold": self.statement_threshold,
        }
        arrays: dict[str, Any] = {"meta": np.asarray(json.dumps(header)), **self.weights}
        with out.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        return out

    @classmethod
    def load(cls, path: str | Path) -> SlotModel:
        """Read a model written by :meth:`save`."""
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(str(data["meta"]))
                weights = {head: np.asarray(data[head], np.float32) for head in _HEADS}
        except (OSError, KeyError, ValueError) as exc:
            raise InvalidInputError(f"cannot read slot model {str(path)!r}: {exc}") from exc
        embedder = header.pop("embedder", None)
        if not isinstance(embedder, str):
            raise InvalidInputError(f"slot model {str(path)!r} does not name its embedder")
        threshold = float(header.pop("threshold", 0.4))
        distractor = float(header.pop("distractor_threshold", 0.5))
        statement = float(header.pop("statement_threshold", cls.statement_threshold))
        return cls(embedder, weights, threshold, distractor, header, statement)


def _softmax(z: npt.NDArray[Any]) -> Matrix:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_softmax(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    classes: int,
    *,
    l2: float = 1e-4,
    steps: int = 1500,
    learning_rate: float = 2.0,
) -> Matrix:
    """Multinomial logistic regression by full-batch gradient descent (deterministic).

    Returns ``W`` of shape ``(dim + 1, classes)``, the bias as its last row.
    """
    features = np.asarray(x, np.float64)
    labels = np.asarray(y, np.int64)
    if features.ndim != 2 or len(features) != len(labels) or not len(labels):
        raise InvalidInputError(
            f"fit_softmax needs one label per row, got {features.shape} rows and {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= classes:
        raise InvalidInputError(f"labels must lie in 0..{classes - 1}, got {labels.max()}")
    w = np.zeros((features.shape[1], classes))
    b = np.zeros(classes)
    onehot = np.eye(classes)[labels]
    for _ in range(steps):
        grad = (_softmax(features @ w + b).astype(np.float64) - onehot) / len(labels)
        w -= learning_rate * (features.T @ grad + l2 * w)
        b -= learning_rate * grad.sum(axis=0)
    return np.vstack([w, b[None, :]]).astype(np.float32)


@cache
def shipped_slot_model(embedder: str) -> SlotModel | None:
    """The model shipped for the embedder named ``embedder``, if there is one."""
    path = MODELS_DIR / f"slots-{embedder}.npz"
    return SlotModel.load(path) if path.is_file() else None
