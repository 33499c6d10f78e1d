"""Okapi BM25 over word tokens, incremental, with an inverted index of numpy postings.

Also the small helpers both in-memory indexes share (argument checks, top-k selection).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from memory._tokenize import tokenize, tokenize_corpus
from memory.errors import InvalidInputError

__all__ = ["BM25Index", "check_k", "check_key", "top_positions"]

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


def check_k(k: object) -> int:
    """``k`` as an int, or :class:`InvalidInputError` unless it is a positive int."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k must be a positive int, got {k!r}")
    return int(k)


def check_key(key: object) -> str:
    """``key`` unchanged, or :class:`InvalidInputError` unless it is a str."""
    if not isinstance(key, str):
        raise InvalidInputError(f"index keys must be str, got {key!r} of type {type(key).__name__}")
    return key


def top_positions(scores: npt.NDArray[np.floating], k: int) -> npt.NDArray[np.intp]:
    """Positions of the ``k`` largest finite scores, best first, equal scores by position."""
    n = scores.shape[0]
    part = np.argpartition(scores, n - k)[n - k :] if k < n else np.arange(n)
    part = part[np.isfinite(scores[part])]
    order = np.lexsort((part, -scores[part]))
    return part[order]


class _Postings:
    """Doc ids and term frequencies of one term: a numpy body plus a list tail for appends."""

    __slots__ = ("dead", "ids", "tail_ids", "tail_tfs", "tfs")

    def __init__(
        self, ids: npt.NDArray[np.int32] | None = None, tfs: FloatArray | None = None
    ) -> None:
        self.ids = np.empty(0, np.int32) if ids is None else ids
        self.tfs = np.empty(0, np.float32) if tfs is None else tfs
        self.tail_ids: list[int] = []
        self.tail_tfs: list[int] = []
        self.dead = 0  # postings of removed docs still in the arrays

    def __len__(self) -> int:
        return self.ids.shape[0] + len(self.tail_ids)

    def arrays(self, live: BoolArray) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """Merged (ids, tfs), dropping removed docs once they are a third of the list."""
        if self.tail_ids:
            self.ids = np.concatenate([self.ids, np.asarray(self.tail_ids, np.int32)])
            self.tfs = np.concatenate([self.tfs, np.asarray(self.tail_tfs, np.float32)])
            self.tail_ids, self.tail_tfs = [], []
        if self.dead and self.dead * 3 >= self.ids.shape[0]:
            keep = live[self.ids]
            self.ids, self.tfs, self.dead = self.ids[keep], self.tfs[keep], 0
        return self.ids, self.tfs


class _Bulk(NamedTuple):
    """The distinct terms of the docs one :meth:`BM25Index.add_many` added: doc ``first + i``
    has ``names[t]`` for ``t`` in ``terms[offsets[i]:offsets[i + 1]]``."""

    first: int
    offsets: npt.NDArray[np.intp]
    terms: npt.NDArray[np.int32]
    names: list[str]


class BM25Index:
    """Okapi BM25 over word tokens, with incremental add and remove.

    An inverted index (term -> postings) keeps a search proportional to the postings of
    the query terms, not to the number of documents. Safe to share between threads.

    Args:
        k1: term-frequency saturation.
        b: document-length normalisation (0 = none, 1 = full).
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        if not k1 >= 0 or not 0 <= b <= 1:
            raise InvalidInputError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = float(k1)
        self.b = float(b)
        self._lock = threading.RLock()
        self._postings: dict[str, _Postings] = {}
        self._doc_of: dict[str, int] = {}
        self._keys: list[str | None] = []
        # The distinct terms of each doc, to undo its add; None: in one of the bulk adds.
        self._terms: list[tuple[str, ...] | None] = []
        self._bulk: list[_Bulk] = []
        self._length = np.zeros(1024, np.float32)
        self._live = np.zeros(1024, np.bool_)
        self._total_length = 0.0

    def __len__(self) -> int:
        return len(self._doc_of)

    def __contains__(self, key: object) -> bool:
        return key in self._doc_of

    def add(self, key: str, text: str) -> None:
        """Index ``text`` under ``key``, replacing what ``key`` held before."""
        check_key(key)
        if not isinstance(text, str):
            raise InvalidInputError(
                f"BM25Index.add needs text as str, got {text!r} of type {type(text).__name__}"
            )
        counts = Counter(tokenize(text))
        with self._lock:
            if key in self._doc_of:
                self._remove(key)
            doc = len(self._keys)
            if doc >= self._live.shape[0]:
                self._length = np.resize(self._length, doc * 2)
                self._live = np.resize(self._live, doc * 2)
            self._keys.append(key)
            self._terms.append(tuple(counts))
            self._doc_of[key] = doc
            length = sum(counts.values())
            self._length[doc] = length
            self._live[doc] = True
            self._total_length += length
            for term, tf in counts.items():
                postings = self._postings.get(term)
                if postings is None:
                    postings = self._postings[term] = _Postings()
                postings.tail_ids.append(doc)
                postings.tail_tfs.append(tf)

    def add_many(self, keys: Sequence[str], texts: Sequence[str]) -> None:
        """Index each text under its key, as :meth:`add` of each in turn would, in bulk: the
        postings are built with numpy, not a list append per token (the search index of a
        store opened with a million memories)."""
        if len(keys) != len(texts):
            raise InvalidInputError(
                f"BM25Index.add_many needs one key per text, got {len(keys)} keys and "
                f"{len(texts)} texts"
            )
        for key, text in zip(keys, texts, strict=True):
            check_key(key)
            if not isinstance(text, str):
                raise InvalidInputError(
                    f"BM25Index.add_many needs texts as str, got {text!r:.80} of type "
                    f"{type(text).__name__} for key {key!r}"
                )
        if not keys:
            return
        if len(set(keys)) != len(keys):  # a later text replaces an earlier one: in turn
            for key, text in zip(keys, texts, strict=True):
                self.add(key, text)
            return
        names, token_docs, token_ids = tokenize_corpus(texts)
        with self._lock:
            for key in keys:
                if key in self._doc_of:
                    self._remove(key)
            first, end = len(self._keys), len(self._keys) + len(keys)
            if end > self._live.shape[0]:
                self._length = np.resize(self._length, 2 * end)
                self._live = np.resize(self._live, 2 * end)
            counts = np.bincount(token_docs, minlength=len(keys))
            self._keys.extend(keys)
            self._doc_of.update(zip(keys, range(first, end), strict=True))
            self._length[first:end] = counts
            self._live[first:end] = True
            self._total_length += float(counts.sum())
            # Each (doc, term) pair once with its count, ordered by doc, then by term.
            pairs, tfs = np.unique(token_docs * len(names) + token_ids, return_counts=True)
            docs, terms = np.divmod(pairs, max(len(names), 1))
            offsets = np.searchsorted(docs, np.arange(len(keys) + 1))
            self._terms.extend([None] * len(keys))
            self._bulk.append(_Bulk(first, offsets, terms.astype(np.int32), names))
            # ... and by term, then by doc, for the postings.
            order = np.argsort(terms, kind="stable")
            terms, ids, freqs = terms[order], (docs[order] + first).astype(np.int32), tfs[order]
            starts = np.flatnonzero(np.diff(terms, prepend=-1))
            bounds = [*starts.tolist(), len(terms)]
            freqs = freqs.astype(np.float32)
            for term, start, stop in zip(terms[starts].tolist(), bounds, bounds[1:], strict=False):
                postings = self._postings.get(names[term])
                if postings is None:
                    self._postings[names[term]] = _Postings(ids[start:stop], freqs[start:stop])
                else:
                    merged, weights = postings.arrays(self._live)
                    postings.ids = np.concatenate([merged, ids[start:stop]])
                    postings.tfs = np.concatenate([weights, freqs[start:stop]])

    def _doc_terms(self, doc: int) -> tuple[str, ...]:
        """The distinct terms of ``doc``, to undo its add."""
        terms = self._terms[doc]
        if terms is not None:
            return terms
        bulk = self._bulk[bisect.bisect_right([b.first for b in self._bulk], doc) - 1]
        i = doc - bulk.first
        return tuple(bulk.names[t] for t in bulk.terms[bulk.offsets[i] : bulk.offsets[i + 1]])

    def remove(self, key: str) -> bool:
        """Forget ``key``; return whether it was indexed."""
        with self._lock:
            if key not in self._doc_of:
                return False
            self._remove(key)
            # Removed docs keep their ids until they are half of all ids.
            if len(self._keys) >= 1024 and len(self._doc_of) * 2 < len(self._keys):
                self._compact()
            return True

    def _remove(self, key: str) -> None:
        doc = self._doc_of.pop(key)
        self._keys[doc] = None
        self._live[doc] = False
        self._total_length -= float(self._length[doc])
        for term in self._doc_terms(doc):
            postings = self._postings[term]
            postings.dead += 1
            if postings.dead == len(postings):
                del self._postings[term]
        self._terms[doc] = ()

    def _compact(self) -> None:
        n = len(self._keys)
        live = self._live[:n]
        remap = np.full(n, -1, np.int32)
        remap[live] = np.arange(int(live.sum()), dtype=np.int32)
        for postings in self._postings.values():
            ids, tfs = postings.arrays(self._live)
            keep = live[ids]
            postings.ids, postings.tfs, postings.dead = remap[ids[keep]], tfs[keep], 0
        kept = np.flatnonzero(live)
        self._keys = [self._keys[i] for i in kept]
        self._terms = [self._doc_terms(i) for i in kept.tolist()]
        self._bulk = []
        self._doc_of = {key: doc for doc, key in enumerate(self._keys) if key is not None}
        m = len(self._keys)
        length = np.zeros(max(1024, m * 2), np.float32)
        length[:m] = self._length[kept]
        self._length = length
        self._live = np.zeros(length.shape[0], np.bool_)
        self._live[:m] = True

    def search(
        self,
        query: str,
        k: int,
        allowed: Callable[[str], bool] | Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best keys for ``query`` as ``(key, score)``, best first.

        Args:
            query: free text, tokenized like the documents.
            k: how many hits at most.
            allowed: keep only keys for which this returns true (or that are in this set).
        """
        if not isinstance(query, str):
            raise InvalidInputError(f"query must be str, got {query!r}")
        k = check_k(k)
        query_terms = Counter(tokenize(query))
        with self._lock:
            n_live = len(self._doc_of)
            if not n_live or not query_terms:
                return []
            n_docs = len(self._keys)
            avg_length = max(self._total_length / n_live, 1e-9)
            all_ids: list[npt.NDArray[np.int32]] = []
            all_weights: list[npt.NDArray[np.floating]] = []
            for term, query_tf in query_terms.items():
                postings = self._postings.get(term)
                if postings is None:
                    continue
                ids, tfs = postings.arrays(self._live)
                df = len(postings) - postings.dead
                idf = math.log(1.0 + (n_live - df + 0.5) / (df + 0.5))
                norm = self.k1 * (1.0 - self.b + self.b * self._length[ids] / avg_length)
                all_ids.append(ids)
                all_weights.append((idf * query_tf * (self.k1 + 1.0)) * tfs / (tfs + norm))
            if not all_ids:
                return []
            ids = np.concatenate(all_ids)
            weights = np.concatenate(all_weights)
            docs: npt.NDArray[np.intp]
            scores: npt.NDArray[np.float64]
            if ids.shape[0] * 8 > n_docs:
                dense = np.bincount(ids, weights, n_docs).astype(np.float64, copy=False)
                docs = np.flatnonzero((dense > 0) & self._live[:n_docs])
                scores = dense[docs]
            else:  # few postings: don't allocate a score per document
                docs, inverse = np.unique(ids, return_inverse=True)
                scores = np.bincount(inverse, weights).astype(np.float64, copy=False)
                alive = self._live[docs]
                docs, scores = docs[alive], scores[alive]
            return self._best(docs, scores, k, allowed)

    def _best(
        self,
        docs: npt.NDArray[np.intp],
        scores: npt.NDArray[np.float64],
        k: int,
        allowed: Callable[[str], bool] | Collection[str] | None,
    ) -> list[tuple[str, float]]:
        keys = self._keys
        if allowed is None:
            top = top_positions(scores, k)
            return [(keys[docs[i]], float(scores[i])) for i in top]
        accept = allowed.__contains__ if isinstance(allowed, Collection) else allowed
        hits: list[tuple[str, float]] = []
        # Test the filter on the best candidates first, widening until k pass.
        order = np.lexsort((docs, -scores))
        start, step = 0, max(4 * k, 64)
        while start < order.shape[0] and len(hits) < k:
            for i in order[start : start + step]:
                key = keys[docs[i]]
                if key is not None and accept(key):
                    hits.append((key, float(scores[i])))
                    if len(hits) == k:
                        break
            start, step = start + step, step * 4
        return hits
