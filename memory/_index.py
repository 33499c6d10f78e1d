"""In-memory search indexes derived from a store: BM25 over texts, cosine over vectors.

Both are rebuilt from the DuckDB tables when a store opens and then follow its writes;
the tables stay the source of truth. Keys are strings chosen by the caller (for example
``"<memory_id>:<version>"`` or a row number). :class:`BM25Index` lives in ``memory._bm25``.

:class:`VectorIndex` searches exactly (a matrix-vector product) up to ``exact_threshold``
live vectors. Above it, each vector also gets a 1-bit code (signs after centring and a
random rotation, the RaBitQ estimator), a query is quantised to 4 bits, a popcount scan
over the codes estimates every inner product, and the best ``shortlist`` rows are
re-ranked with the exact float32 vectors. Sign codes compared with sign codes (Hamming
distance) lose too much on unstructured data; the 4-bit query keeps the estimate close.
On 1,000,000 random 384-d unit vectors (the hardest case: no cluster structure) this
gives recall@10 ≈ 0.98 at ~20 ms a query on two cores (``benchmarks/vector_index.py``).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from memory._bm25 import BM25Index, check_k, check_key, top_positions
from memory.errors import InvalidInputError

__all__ = ["BM25Index", "VectorIndex"]

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
RowArray = npt.NDArray[np.intp]


# -- vectors -----------------------------------------------------------------------------------


class _BinaryCodes:
    """1-bit codes of centred, randomly rotated vectors, stored column-major for the scan.

    For a vector x with residual r = x - centre and rotated unit residual o, the code is
    sign(o) and ``scale`` = |r|² / Σ|o_i|; then q·r ≈ scale · (2 Σ_{bit set} q'_i - Σ q'_i)
    with q' the rotated query (the RaBitQ estimator). The centre and rotation are fixed
    when the codes are first built.
    """

    def __init__(self, dim: int, capacity: int, centre: FloatArray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        self.rotation = (q * np.sign(np.diag(r))).astype(np.float32)
        self.centre = centre.astype(np.float32)
        self.words = (dim + 63) // 64
        self.bits = np.zeros((self.words, capacity), np.uint64)
        self.scale = np.zeros(capacity, np.float32)
        self.scaled_popcount = np.zeros(capacity, np.float32)
        self.n_coded = 0

    def grow(self, capacity: int) -> None:
        bits = np.zeros((self.words, capacity), np.uint64)
        bits[:, : self.bits.shape[1]] = self.bits
        self.bits = bits
        for name in ("scale", "scaled_popcount"):
            old = getattr(self, name)
            new = np.zeros(capacity, np.float32)
            new[: old.shape[0]] = old
            setattr(self, name, new)

    def encode(self, rows: npt.NDArray[np.intp] | slice, vectors: FloatArray) -> None:
        """Write the codes of ``vectors`` (already unit-norm) at ``rows``."""
        residual = vectors - self.centre
        rotated = residual @ self.rotation
        packed = _pack_bits(rotated > 0, self.words)
        self.bits[:, rows] = packed.T
        popcount = np.bitwise_count(packed).sum(axis=1, dtype=np.int32).astype(np.float32)
        norm2 = np.einsum("ij,ij->i", residual, residual)
        l1 = np.abs(rotated, out=rotated) @ np.ones(rotated.shape[1], np.float32)
        scale = np.divide(norm2, l1, out=np.zeros_like(l1), where=l1 > 0)
        self.scale[rows] = scale
        self.scaled_popcount[rows] = scale * popcount

    def compact(self, kept: npt.NDArray[np.intp]) -> None:
        m = kept.shape[0]
        self.bits[:, :m] = self.bits[:, kept]
        for arr in (self.scale, self.scaled_popcount):
            arr[:m] = arr[kept]
        self.n_coded = min(self.n_coded, m)

    def estimate(self, query: FloatArray, n: int, query_bits: int) -> FloatArray:
        """Estimated q·(x - centre) for rows ``[0, n)``; larger means closer."""
        rotated = np.einsum("j,jk->k", query, self.rotation)  # no BLAS: see _scores
        lo, hi = float(rotated.min()), float(rotated.max())
        step = (hi - lo) / ((1 << query_bits) - 1) or 1.0
        levels = np.rint((rotated - lo) / step).astype(np.uint8)
        planes = [
            _pack_bits(((levels >> p) & 1).astype(np.bool_)[None, :], self.words)[0]
            for p in range(query_bits)
        ]
        # Σ_{bit set} levels_i = Σ_p 2^p popcount(x & plane_p), summed word by word.
        # uint16 sums halve the memory traffic while they cannot overflow.
        wide = self.words * 64 * ((1 << query_bits) - 1) > np.iinfo(np.uint16).max
        acc = np.uint32 if wide else np.uint16
        word = np.empty(n, np.uint64)
        count = np.empty(n, np.uint8)
        plane_sum = np.empty(n, acc)
        total = np.zeros(n, acc)
        for p, plane in enumerate(planes):
            plane_sum.fill(0)
            for w in range(self.words):
                if plane[w]:
                    np.bitwise_and(self.bits[w, :n], plane[w], out=word)
                    np.bitwise_count(word, out=count)
                    np.add(plane_sum, count, out=plane_sum)
            if p:
                np.left_shift(plane_sum, p, out=plane_sum)
            np.add(total, plane_sum, out=total)
        # scale · (2 (lo·popcount + step·total) - Σq'), arranged to reuse one buffer.
        est = total.astype(np.float32)
        est *= np.float32(2.0 * step)
        est -= np.float32(rotated.sum())
        est *= self.scale[:n]
        est += np.float32(2.0 * lo) * self.scaled_popcount[:n]
        return est


def _pack_bits(bits: BoolArray, words: int) -> npt.NDArray[np.uint64]:
    """Pack a (m, d) bool array into (m, words) uint64, zero-padded."""
    packed = np.packbits(bits, axis=1, bitorder="little")
    width = words * 8
    if packed.shape[1] != width:
        packed = np.pad(packed, ((0, 0), (0, width - packed.shape[1])))
    return np.ascontiguousarray(packed).view(np.uint64)


_BLOCK = 1 << 16  # rows per storage block


class _Rows:
    """Float32 rows in blocks of ``_BLOCK``: growing never copies what is stored.

    Only the first block starts small and doubles, so a tiny index stays tiny.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.blocks: list[FloatArray] = []

    @property
    def capacity(self) -> int:
        return sum(block.shape[0] for block in self.blocks)

    def reserve(self, rows: int, used: int) -> None:
        first = self.blocks[0].shape[0] if self.blocks else 0
        if rows > first and first < _BLOCK:
            block = np.empty((min(_BLOCK, max(1024, 2 * first, rows)), self.dim), np.float32)
            if self.blocks:
                block[:used] = self.blocks[0][:used]
            self.blocks = [block]
        while self.capacity < rows:
            self.blocks.append(np.empty((_BLOCK, self.dim), np.float32))

    def segments(self, lo: int, hi: int) -> Iterator[tuple[int, int, FloatArray]]:
        """``(start, stop, view)`` pieces covering rows ``[lo, hi)``, one block each."""
        while lo < hi:
            b, offset = divmod(lo, _BLOCK)
            stop = min(hi, (b + 1) * _BLOCK)
            yield lo, stop, self.blocks[b][offset : offset + stop - lo]
            lo = stop

    def row(self, r: int) -> FloatArray:
        return self.blocks[r // _BLOCK][r % _BLOCK]

    def gather(self, rows: RowArray) -> FloatArray:
        """A copy of ``rows`` (ascending) as one matrix."""
        out = np.empty((rows.shape[0], self.dim), np.float32)
        bounds = np.searchsorted(rows, np.arange(len(self.blocks) + 1) * _BLOCK)
        for b, block in enumerate(self.blocks):
            lo, hi = int(bounds[b]), int(bounds[b + 1])
            if lo < hi:
                np.take(block, rows[lo:hi] - b * _BLOCK, axis=0, out=out[lo:hi])
        return out

    def compact(self, kept: RowArray) -> None:
        """Move rows ``kept`` (ascending) to the front, in order."""
        m = kept.shape[0]
        # A kept row never moves down, so filling the front block by block reads
        # only rows that are not yet overwritten.
        for lo in range(0, m, _BLOCK):
            rows = kept[lo : lo + _BLOCK]
            self.blocks[lo // _BLOCK][: rows.shape[0]] = self.gather(rows)
        del self.blocks[max(1, -(-m // _BLOCK)) :]


class VectorIndex:
    """Cosine search over unit vectors under string keys, exact or approximate by size.

    Vectors live in float32 blocks, one row per key; removed rows become tombstones
    until they are a quarter of the rows, then the rows are compacted (which renumbers
    them: build masks after the last change). Safe to share between threads.

    Args:
        dim: vector dimension.
        exact_threshold: up to this many live (or allowed) vectors, search is exact.
        shortlist_factor: the approximate path re-ranks ``shortlist_factor * n ** (2/3) *
            sqrt(k / 10)`` rows exactly (n = candidate rows). The top of a larger set
            stands out more, so the share needed falls as n grows; 1.5 gives recall@10
            of about 0.98 on random vectors from 30k to 1M rows, whatever the dimension.
        min_shortlist: re-rank at least this many rows.
        query_bits: bits per dimension of the quantised query in the code scan.
        batch_exact_min: from this many queries on, :meth:`search_batch` scans every row
            exactly with one matrix product per block, which beats the per-query scan.
        seed: seeds the random rotation of the codes.
    """

    def __init__(
        self,
        dim: int,
        *,
        exact_threshold: int = 100_000,
        shortlist_factor: float = 1.5,
        min_shortlist: int = 256,
        query_bits: int = 4,
        batch_exact_min: int = 4,
        seed: int = 0,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InvalidInputError(f"dim must be a positive int, got {dim!r}")
        if not shortlist_factor > 0:
            raise InvalidInputError(f"shortlist_factor must be > 0, got {shortlist_factor}")
        if not 1 <= query_bits <= 8:
            raise InvalidInputError(f"query_bits must be 1..8, got {query_bits}")
        self.dim = dim
        self.exact_threshold = int(exact_threshold)
        self.shortlist_factor = float(shortlist_factor)
        self.min_shortlist = int(min_shortlist)
        self.query_bits = int(query_bits)
        self.batch_exact_min = int(batch_exact_min)
        self._seed = seed
        self._lock = threading.RLock()
        self._rows = _Rows(dim)
        self._live = np.zeros(0, np.bool_)
        self._keys: list[str | None] = []
        self._row_of: dict[str, int] = {}
        self._codes: _BinaryCodes | None = None

    # -- bookkeeping -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, key: object) -> bool:
        return key in self._row_of

    @property
    def n_rows(self) -> int:
        """Rows in use, tombstones included: the length a search mask must have."""
        return len(self._keys)

    @property
    def approximate(self) -> bool:
        """Whether an unfiltered single-query search takes the approximate path."""
        return len(self._row_of) > self.exact_threshold

    def keys(self) -> list[str]:
        """Live keys in row order."""
        with self._lock:
            return [key for key in self._keys if key is not None]

    def row(self, key: str) -> int:
        """The row of ``key`` (valid until the next compaction)."""
        try:
            return self._row_of[key]
        except KeyError:
            raise InvalidInputError(f"no vector under key {key!r}") from None

    def vector(self, key: str) -> FloatArray:
        """A copy of the (unit-norm) vector stored under ``key``."""
        with self._lock:
            return self._rows.row(self.row(key)).copy()

    def mask_for(self, keys: Iterable[str]) -> BoolArray:
        """A search mask allowing exactly ``keys`` (unknown keys are ignored)."""
        with self._lock:
            mask = np.zeros(len(self._keys), np.bool_)
            rows = [self._row_of[key] for key in keys if key in self._row_of]
            mask[np.asarray(rows, np.intp)] = True
            return mask

    def mask_where(self, predicate: Callable[[str], bool]) -> BoolArray:
        """A search mask allowing the live keys for which ``predicate`` is true."""
        with self._lock:
            return np.fromiter(
                (key is not None and predicate(key) for key in self._keys),
                np.bool_,
                len(self._keys),
            )

    # -- writes ------------------------------------------------------------------------------

    def add(self, keys: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Store ``vectors[i]`` under ``keys[i]``, replacing existing keys in place.

        Rows are L2-normalised on the way in. Everything is checked before anything is
        written, so a bad batch leaves the index as it was.
        """
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise InvalidInputError(f"keys must be a sequence of str, got {keys!r}")
        for key in keys:
            check_key(key)
        if len(set(keys)) != len(keys):
            dup = next(key for key, c in Counter(keys).items() if c > 1)
            raise InvalidInputError(f"key {dup!r} appears twice in one add")
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim == 1 and len(keys) == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape != (len(keys), self.dim):
            raise InvalidInputError(
                f"vectors must have shape ({len(keys)}, {self.dim}), got {arr.shape}"
            )
        if not keys:
            return
        norms = _row_norms(arr)
        bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(
                f"vector for key {keys[i]!r} is zero or not finite (norm {norms[i]}); "
                "every vector needs a finite, non-zero norm"
            )
        with self._lock:
            self._add(keys, arr, norms)

    def _add(self, keys: Sequence[str], arr: FloatArray, norms: FloatArray) -> None:
        row_of = self._row_of
        old = [i for i, key in enumerate(keys) if key in row_of]
        if old:
            self._replace(
                np.asarray([row_of[keys[i]] for i in old], np.intp),
                arr[old] / norms[old, None],
            )
            fresh = np.ones(len(keys), np.bool_)
            fresh[old] = False
            if not fresh.any():
                return
            keys = [key for key, f in zip(keys, fresh, strict=True) if f]
            arr, norms = arr[fresh], norms[fresh]
        start, count = len(self._keys), len(keys)
        self._reserve(start + count)
        for lo, hi, view in self._rows.segments(start, start + count):
            np.divide(arr[lo - start : hi - start], norms[lo - start : hi - start, None], out=view)
        self._live[start : start + count] = True
        self._keys.extend(keys)
        row_of.update(zip(keys, range(start, start + count), strict=True))
        if self._codes is None:
            if len(row_of) > self.exact_threshold:
                self._build_codes()
        elif count >= 4096:
            self._sync_codes()
        # else: small appends are coded in bulk by the next approximate search

    def _replace(self, rows: RowArray, unit: FloatArray) -> None:
        for r, vector in zip(rows, unit, strict=True):
            self._rows.row(int(r))[:] = vector
        if self._codes is not None:
            coded = rows < self._codes.n_coded
            self._codes.encode(rows[coded], unit[coded])

    def _reserve(self, rows: int) -> None:
        used = len(self._keys)
        self._rows.reserve(rows, used)
        if rows > self._live.shape[0]:
            capacity = max(rows, self._live.shape[0] * 3 // 2, 1024)
            live = np.zeros(capacity, np.bool_)
            live[:used] = self._live[:used]
            self._live = live
            if self._codes is not None:
                self._codes.grow(capacity)

    def remove(self, keys: Iterable[str]) -> int:
        """Remove ``keys`` (unknown keys are ignored); return how many were removed."""
        if isinstance(keys, str):
            raise InvalidInputError(f"remove takes a collection of keys, got the str {keys!r}")
        with self._lock:
            removed = 0
            for key in keys:
                row = self._row_of.pop(key, None)
                if row is not None:
                    self._keys[row] = None
                    self._live[row] = False
                    removed += 1
            dead = len(self._keys) - len(self._row_of)
            if dead >= 1024 and dead * 4 >= len(self._keys):
                self._compact()
            return removed

    def _compact(self) -> None:
        kept = np.flatnonzero(self._live[: len(self._keys)])
        m = kept.shape[0]
        self._rows.compact(kept)
        self._live[:] = False
        self._live[:m] = True
        if self._codes is not None:
            self._codes.compact(kept)
        self._keys = [self._keys[i] for i in kept]
        self._row_of = {key: row for row, key in enumerate(self._keys) if key is not None}

    def _build_codes(self) -> None:
        rows = np.flatnonzero(self._live[: len(self._keys)])
        if rows.shape[0] > 65536:  # a sample pins the centre down well enough
            rows = rows[:: rows.shape[0] // 65536][:65536]
        centre: FloatArray = np.zeros(self.dim, np.float32)
        if rows.shape[0]:
            total = np.ones(rows.shape[0], np.float32) @ self._rows.gather(rows)
            centre = (total / np.float32(rows.shape[0])).astype(np.float32)
        self._codes = _BinaryCodes(self.dim, self._live.shape[0], centre, self._seed)
        self._sync_codes()

    def _sync_codes(self) -> None:
        codes = self._codes
        assert codes is not None
        n = len(self._keys)
        for lo, hi, view in self._rows.segments(codes.n_coded, n):
            codes.encode(slice(lo, hi), view)
        codes.n_coded = n

    # -- search ------------------------------------------------------------------------------

    def search(
        self, query: npt.ArrayLike, k: int, mask: BoolArray | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` nearest keys to ``query`` by cosine, as ``(key, cosine)``, best first.

        Args:
            query: a vector of length ``dim`` (normalised here).
            k: how many hits at most.
            mask: bool array of length :attr:`n_rows`; only rows where it is true qualify.
        """
        q = self._check_queries(query, single=True)
        k = check_k(k)
        with self._lock:
            allowed, n_allowed = self._allowed(mask)
            if n_allowed == 0:
                return []
            if n_allowed <= self.exact_threshold:
                return self._exact(q, k, allowed, n_allowed)[0]
            return self._approximate(q[0], k, allowed, n_allowed)

    def search_batch(
        self, queries: npt.ArrayLike, k: int, mask: BoolArray | None = None
    ) -> list[list[tuple[str, float]]]:
        """:meth:`search` for each row of ``queries`` (shape ``(m, dim)``), one shared mask."""
        qs = self._check_queries(queries, single=False)
        k = check_k(k)
        with self._lock:
            allowed, n_allowed = self._allowed(mask)
            if n_allowed == 0 or qs.shape[0] == 0:
                return [[] for _ in range(qs.shape[0])]
            if n_allowed <= self.exact_threshold or qs.shape[0] >= self.batch_exact_min:
                return self._exact(qs, k, allowed, n_allowed)
            return [self._approximate(q, k, allowed, n_allowed) for q in qs]

    def _check_queries(self, queries: npt.ArrayLike, *, single: bool) -> FloatArray:
        arr = np.asarray(queries, dtype=np.float32)
        if arr.ndim != (1 if single else 2) or arr.shape[-1] != self.dim:
            want = f"({self.dim},)" if single else f"(m, {self.dim})"
            raise InvalidInputError(f"query must have shape {want}, got {arr.shape}")
        arr = arr.reshape(-1, self.dim)
        norms = _row_norms(arr)
        if not (np.isfinite(norms).all() and (norms > 0).all()):
            raise InvalidInputError("a query vector is zero or not finite; it needs a norm")
        return arr / norms[:, None]

    def _allowed(self, mask: BoolArray | None) -> tuple[BoolArray | None, int]:
        """Rows that may be returned (None = every row) and how many there are."""
        n = len(self._keys)
        if mask is None:
            if len(self._row_of) == n:
                return None, n
            return self._live[:n], len(self._row_of)
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (n,):
            raise InvalidInputError(
                f"mask must be a bool array of shape ({n},), one entry per row (n_rows), "
                f"got {mask.dtype} {mask.shape}; build it after the last add or remove"
            )
        allowed = mask & self._live[:n]
        return allowed, int(np.count_nonzero(allowed))

    def _exact(
        self, qs: FloatArray, k: int, allowed: BoolArray | None, n_allowed: int
    ) -> list[list[tuple[str, float]]]:
        n = len(self._keys)
        if allowed is not None and n_allowed * 3 < n:
            # Few allowed rows: gathering them is cheaper than scoring every row.
            rows = np.flatnonzero(allowed)
            return self._rank(rows[:, None], _scores(self._rows.gather(rows), qs), k)
        best_rows: list[RowArray] = []
        best_scores: list[FloatArray] = []
        step = max(1024, (1 << 24) // qs.shape[0])  # at most ~64 MB of scores at once
        for start, stop, view in self._rows.segments(0, n):
            for lo in range(0, stop - start, step):
                hi = min(stop - start, lo + step)
                scores = _scores(view[lo:hi], qs)
                if allowed is not None:
                    scores[~allowed[start + lo : start + hi]] = -np.inf
                kk = min(k, hi - lo)
                part = np.argpartition(scores, hi - lo - kk, axis=0)[hi - lo - kk :]
                best_rows.append(part + (start + lo))
                best_scores.append(np.take_along_axis(scores, part, axis=0))
        return self._rank(np.concatenate(best_rows), np.concatenate(best_scores), k)

    def _rank(self, rows: RowArray, scores: FloatArray, k: int) -> list[list[tuple[str, float]]]:
        """Per column j of ``scores``, the best ``k`` as hits; ``rows[:, j]`` (or
        ``rows[:, 0]`` for every column) names the row of each score."""
        keys = self._keys
        out: list[list[tuple[str, float]]] = []
        for j in range(scores.shape[1]):
            col = scores[:, j]
            names = rows[:, j if rows.shape[1] > 1 else 0]
            hits = []
            for i in top_positions(col, k):
                key = keys[names[i]]
                assert key is not None  # masked rows score -inf and are never selected
                hits.append((key, float(col[i])))
            out.append(hits)
        return out

    def _approximate(
        self, q: FloatArray, k: int, allowed: BoolArray | None, n_allowed: int
    ) -> list[tuple[str, float]]:
        if self._codes is None:
            self._build_codes()
        elif self._codes.n_coded < len(self._keys):
            self._sync_codes()
        assert self._codes is not None
        n = len(self._keys)
        shortlist = max(
            self.min_shortlist,
            4 * k,
            math.ceil(self.shortlist_factor * n_allowed ** (2 / 3) * max(1.0, math.sqrt(k / 10))),
        )
        if shortlist * 2 >= n_allowed:
            return self._exact(q[None, :], k, allowed, n_allowed)[0]
        est = self._codes.estimate(q, n, self.query_bits)
        if allowed is not None:
            np.copyto(est, -np.inf, where=~allowed)
        rows = np.argpartition(est, n - shortlist)[n - shortlist :]
        rows.sort()  # ascending rows read the blocks in order
        if allowed is not None:
            rows = rows[allowed[rows]]
        return self._rank(rows[:, None], _scores(self._rows.gather(rows), q[None, :]), k)[0]


def _scores(rows: FloatArray, qs: FloatArray) -> FloatArray:
    """``rows @ qs.T``, shape ``(len(rows), len(qs))``.

    One query is memory-bound: numpy's own loop is as fast as BLAS and, unlike BLAS, wakes
    no worker threads, whose spinning halves the speed of a shared two-core machine.
    Several queries are compute-bound, where BLAS threads pay.
    """
    if qs.shape[0] == 1:
        return np.einsum("ij,j->i", rows, qs[0])[:, None]
    return rows @ qs.T


def _row_norms(arr: FloatArray) -> FloatArray:
    """Row L2 norms; rows that overflow float32 are recomputed in float64."""
    norms = np.sqrt(np.einsum("ij,ij->i", arr, arr))
    inf = np.flatnonzero(np.isinf(norms))
    if inf.size:
        norms[inf] = np.linalg.norm(arr[inf].astype(np.float64), axis=1)
    return norms
