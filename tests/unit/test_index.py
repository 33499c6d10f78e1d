"""BM25Index, the tokenizer and VectorIndex (exact and approximate paths)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import numpy.typing as npt
import pytest

from memory._index import BM25Index, VectorIndex
from memory._tokenize import STOP_WORDS, stem, tokenize, tokenize_corpus
from memory.errors import InvalidInputError

# -- tokenizer ---------------------------------------------------------------------------------


def test_stemming_joins_inflections() -> None:
    assert tokenize("camping camped camps camp") == ["camp"] * 4
    assert tokenize("running runs") == ["run", "run"]
    assert tokenize("studies studied studying") == ["study"] * 3
    assert tokenize("hike hiked hikes hiking") == [stem("hike")] * 4
    assert tokenize("boxes churches classes") == ["box", "church", "class"]


def test_stemmer_leaves_short_and_special_words() -> None:
    for word in ("sing", "bring", "need", "speed", "fall", "miss", "bus", "2023"):
        assert stem(word) == word


def test_tokenizer_lowercases_drops_stop_words_and_keeps_unicode() -> None:
    assert tokenize("The Cat and THE hat") == ["cat", "hat"]
    # Possessive dropped; the final -e goes too (consistently, in queries as well).
    assert tokenize("Caroline's café in Zürich, 東京!") == ["carolin", "café", "zürich", "東京"]
    assert tokenize("don't won't it’s") == []
    assert tokenize("snake_case") == ["snak", "cas"]
    assert {"the", "and", "is", "i", "you"} <= STOP_WORDS


# -- BM25 ----------------------------------------------------------------------------------------

DOCS = {
    "camp": "Caroline went camping in the mountains with her kids last summer.",
    "paint": "Melanie painted a sunrise over the lake and hung it in the kitchen.",
    "cook": "Dinner was pasta; Melanie cooked it with fresh basil from the garden.",
    "move": "Caroline moved from Sweden to Boston for a new job.",
    "camp2": "We camped by the lake; the camp fire kept the kids warm all night long.",
}


def _bm25(docs: dict[str, str] = DOCS) -> BM25Index:
    index = BM25Index()
    for key, text in docs.items():
        index.add(key, text)
    return index


def _reference_bm25(
    docs: dict[str, str], query: str, k1: float = 1.2, b: float = 0.75
) -> dict[str, float]:
    """Okapi BM25 written out directly, to check the indexed scores."""
    tokens = {key: tokenize(text) for key, text in docs.items()}
    avgdl = sum(len(t) for t in tokens.values()) / len(tokens)
    out: dict[str, float] = {}
    for key, toks in tokens.items():
        tf = Counter(toks)
        score = 0.0
        for term, qtf in Counter(tokenize(query)).items():
            df = sum(term in t for t in tokens.values())
            if not tf[term]:
                continue
            idf = math.log(1 + (len(tokens) - df + 0.5) / (df + 0.5))
            norm = k1 * (1 - b + b * len(toks) / avgdl)
            score += qtf * idf * tf[term] * (k1 + 1) / (tf[term] + norm)
        if score > 0:
            out[key] = score
    return out


def test_a_hyphenated_compound_is_also_one_word() -> None:
    assert tokenize("time to de-stress") == ["tim", "de", "stress", stem("destress")]
    assert tokenize("an e-mail from a co-worker") == [
        "e", "mail", "co", "worker", "email", "coworker"
    ]  # fmt: skip
    # A part that is a stop word drops out; the joined word stays.
    assert tokenize("well-being") == ["well", stem("wellbeing")]
    index = BM25Index()
    index.add("hyphen", "Dance is how I de-stress after work.")
    index.add("joined", "I send an email every morning.")
    index.add("other", "The kids went to the museum.")
    assert [key for key, _ in index.search("How do they destress?", 3)] == ["hyphen"]
    assert [key for key, _ in index.search("any e-mail today?", 3)] == ["joined"]


def test_bm25_ranks_relevant_documents_first() -> None:
    index = _bm25()
    hits = index.search("camping trip with the kids", 3)
    assert [key for key, _ in hits][:2] in (["camp", "camp2"], ["camp2", "camp"])
    assert index.search("Who painted the sunrise?", 1)[0][0] == "paint"
    assert index.search("Sweden", 5) == [("move", pytest.approx(hits_score("Sweden")))]


def hits_score(query: str) -> float:
    return _reference_bm25(DOCS, query)["move"]


def test_bm25_stemmed_query_matches_other_inflections() -> None:
    index = _bm25()
    assert {key for key, _ in index.search("camps", 5)} == {"camp", "camp2"}
    assert index.search("cooking", 5)[0][0] == "cook"


def test_bm25_scores_match_the_formula() -> None:
    index = _bm25()
    for query in ("camping lake kids", "Melanie lake", "the kids kids", "boston job sweden"):
        expected = _reference_bm25(DOCS, query)
        got = dict(index.search(query, 10))
        assert got.keys() == expected.keys()
        for key, score in expected.items():
            assert got[key] == pytest.approx(score, rel=1e-5)


def test_bm25_dense_and_sparse_scoring_agree() -> None:
    # Many documents share "common": its postings take the dense path; "rare" the sparse one.
    docs = {
        f"d{i}": "common word " * (1 + i % 3) + ("rare" if i % 97 == 0 else "") for i in range(500)
    }
    index = _bm25(docs)
    for query in ("common", "rare", "common rare"):
        expected = _reference_bm25(docs, query)
        got = dict(index.search(query, 1000))
        assert got.keys() == expected.keys()
        for key, score in expected.items():
            assert got[key] == pytest.approx(score, rel=1e-5)


def test_bm25_stop_word_query_and_unknown_terms_return_nothing() -> None:
    index = _bm25()
    assert index.search("the and of it", 5) == []
    assert index.search("xylophone", 5) == []
    assert BM25Index().search("camping", 5) == []


def test_bm25_ties_break_by_insertion_order() -> None:
    index = BM25Index()
    for key in ("b", "a", "c"):
        index.add(key, "same words here")
    assert [key for key, _ in index.search("words", 3)] == ["b", "a", "c"]


def test_bm25_remove_and_replace() -> None:
    index = _bm25()
    assert index.remove("camp") is True
    assert index.remove("camp") is False
    assert "camp" not in index and len(index) == 4
    assert [key for key, _ in index.search("camping", 5)] == ["camp2"]
    remaining = {k: v for k, v in DOCS.items() if k != "camp"}
    assert dict(index.search("kids lake", 5)) == pytest.approx(
        _reference_bm25(remaining, "kids lake")
    )
    index.add("camp2", "A recipe for bread.")  # replaces the old text
    assert index.search("camping", 5) == []
    assert index.search("bread", 5)[0][0] == "camp2"
    assert len(index) == 4


def test_bm25_compaction_keeps_scores() -> None:
    docs = {f"k{i}": f"note {i % 7} about topic{i % 11} and common words" for i in range(3000)}
    index = _bm25(docs)
    for i in range(2000):
        index.remove(f"k{i}")
    remaining = {k: v for k, v in docs.items() if int(k[1:]) >= 2000}
    assert len(index) == 1000
    expected = _reference_bm25(remaining, "topic3 common")
    got = dict(index.search("topic3 common", 2000))
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected, rel=1e-5)
    index.add("k5", "topic3 topic3 again")
    assert index.search("topic3", 1)[0][0] == "k5"


def test_bm25_filters() -> None:
    index = _bm25()
    assert [k for k, _ in index.search("kids lake", 5, allowed={"camp"})] == ["camp"]
    hits = index.search("kids lake", 5, allowed=lambda key: key != "camp2")
    assert "camp2" not in {k for k, _ in hits} and hits
    assert index.search("kids lake", 5, allowed=set()) == []


def test_bm25_filter_widens_until_k_found() -> None:
    index = BM25Index()
    for i in range(2000):
        index.add(str(i), "apple " * (1 + i % 50) + "pie")
    hits = index.search("apple", 3, allowed=lambda key: int(key) % 500 == 7)
    assert [k for k, _ in hits] == sorted(
        [k for k, _ in hits], key=lambda k: -dict(index.search("apple", 2000))[k]
    )
    assert {k for k, _ in hits} <= {"7", "507", "1007", "1507"} and len(hits) == 3


def test_bm25_bad_input() -> None:
    index = _bm25()
    with pytest.raises(InvalidInputError, match="42"):
        index.add("x", 42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        index.add(7, "text")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="k must be"):
        index.search("camping", 0)
    with pytest.raises(InvalidInputError):
        BM25Index(b=2.0)
    assert len(index) == 5


def _corpus(n: int, seed: int) -> dict[str, str]:
    """Texts with repeated and rare words, stop words, possessives, contractions, compounds,
    curly apostrophes, non-Latin script, numbers and empty or stop-word-only texts."""
    rng = np.random.default_rng(seed)
    words = [
        "Caroline's",
        "café",
        "camping",
        "camped",
        "camps",
        "de-stress",
        "destress",
        "e-mail",
        "don't",
        "it’s",
        "the",
        "and",
        "lake",
        "kids",
        "Zürich",
        "東京",
        "running",
        "2023",
        "snake_case",
        "x-ray-vision",
        "bus",
        "miss",
        "studies",
    ]
    return {
        f"d{i}": " ".join(rng.choice(words, size=int(rng.integers(0, 12)))) + f" rare{i % 37}"
        if i % 9
        else ("the and of" if i % 2 else "")
        for i in range(n)
    }


@pytest.mark.parametrize("nul", [False, True])
def test_tokenize_corpus_has_the_tokens_of_each_text(nul: bool) -> None:
    """Every text's tokens, as tokenize gives them (also for a text holding the character
    the corpus is joined with)."""
    texts = [*_corpus(500, 1).values(), *DOCS.values(), "", "It's a well-known fact."]
    if nul:
        texts.append("two\x00texts-in-one")
    terms, docs, ids = tokenize_corpus(texts)
    assert len(set(terms)) == len(terms)
    found: list[Counter[str]] = [Counter() for _ in texts]
    for doc, term in zip(docs.tolist(), ids.tolist(), strict=True):
        found[doc][terms[term]] += 1
    assert found == [Counter(tokenize(text)) for text in texts]
    assert tokenize_corpus([])[0] == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bm25_add_many_is_add_of_each_in_turn(seed: int) -> None:
    """The bulk path builds the index that adding each text in turn builds, into an empty
    index and into one holding documents, some of them replaced, some removed."""
    docs = _corpus(600, seed)
    keys, texts = list(docs), list(docs.values())
    one_by_one, bulk = BM25Index(), BM25Index()
    for index in (one_by_one, bulk):
        for key, text in zip(keys[:100], texts[:100], strict=True):
            index.add(key, text)
        for key in keys[:20]:
            index.remove(key)
    for key, text in zip(keys[50:], texts[50:], strict=True):  # keys 50-99 are replaced
        one_by_one.add(key, text)
    bulk.add_many(keys[50:], texts[50:])
    assert len(bulk) == len(one_by_one) == 580
    for query in ("camping kids", "rare3 lake", "destress", "café Zürich", "東京 2023", "the"):
        assert bulk.search(query, 50) == one_by_one.search(query, 50)
    assert bulk.search("rare5", 600, allowed=lambda key: key.endswith("7")) == (
        one_by_one.search("rare5", 600, allowed=lambda key: key.endswith("7"))
    )
    expected = _reference_bm25({k: docs[k] for k in keys[20:]}, "camping rare11")
    assert dict(bulk.search("camping rare11", 600)) == pytest.approx(expected, rel=1e-5)
    for key in keys[200:500]:  # removal (and then compaction) works on the bulk postings
        assert bulk.remove(key) and one_by_one.remove(key)
    assert bulk.search("camping rare11", 600) == one_by_one.search("camping rare11", 600)


def test_bm25_add_many_with_a_key_twice_keeps_the_last_text() -> None:
    keys, texts = ["a", "b", "a"], ["camping by the lake", "bread", "a recipe for pasta bread"]
    bulk, one_by_one = BM25Index(), BM25Index()
    bulk.add_many(keys, texts)
    for key, text in zip(keys, texts, strict=True):
        one_by_one.add(key, text)
    assert len(bulk) == 2
    assert bulk.search("camping", 5) == []
    assert bulk.search("pasta bread", 5) == one_by_one.search("pasta bread", 5)
    assert [key for key, _ in bulk.search("pasta bread", 5)] == ["a", "b"]


def test_bm25_add_many_bad_input_changes_nothing() -> None:
    index = _bm25()
    with pytest.raises(InvalidInputError, match="2 keys and 1 texts"):
        index.add_many(["x", "y"], ["text"])
    with pytest.raises(InvalidInputError, match="got 42 of type int for key 'y'"):
        index.add_many(["x", "y"], ["text", 42])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="keys must be str"):
        index.add_many([7], ["text"])  # type: ignore[list-item]
    assert len(index) == 5 and "x" not in index
    index.add_many([], [])
    assert len(index) == 5


# -- VectorIndex: exact --------------------------------------------------------------------------


def _unit(n: int, dim: int, seed: int) -> npt.NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute(
    data: npt.NDArray[np.float32],
    q: npt.NDArray[np.float32],
    k: int,
    rows: np.ndarray | None = None,
) -> list[int]:
    scores = data @ q
    if rows is not None:
        keep = np.zeros(len(data), bool)
        keep[rows] = True
        scores = np.where(keep, scores, -np.inf)
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(i) for i in order if np.isfinite(scores[i])]


def _recall(hits: list[tuple[str, float]], truth: list[int]) -> float:
    return len({int(key) for key, _ in hits} & set(truth)) / len(truth)


def test_exact_search_matches_brute_force() -> None:
    data = _unit(3000, 48, 0)
    index = VectorIndex(48)
    index.add([str(i) for i in range(3000)], data)
    for q in _unit(20, 48, 1):
        hits = index.search(q, 10)
        assert [int(k) for k, _ in hits] == _brute(data, q, 10)
        for key, score in hits:
            assert score == pytest.approx(float(data[int(key)] @ q), abs=1e-5)
    assert not index.approximate


def test_add_normalises_and_replaces_in_place() -> None:
    index = VectorIndex(3)
    index.add(["a", "b"], np.array([[3.0, 0, 0], [0, 2.0, 0]]))
    np.testing.assert_allclose(index.vector("a"), [1, 0, 0])
    index.add(["a"], np.array([0, 0, 5.0]))
    assert index.n_rows == 2 and len(index) == 2
    assert index.search(np.array([0, 0, 1.0]), 1) == [("a", pytest.approx(1.0))]
    assert index.keys() == ["a", "b"]


def test_search_batch_equals_single_searches() -> None:
    data = _unit(2000, 32, 2)
    index = VectorIndex(32)
    index.add([str(i) for i in range(2000)], data)
    queries = _unit(7, 32, 3)
    batch = index.search_batch(queries, 5)
    assert index.search_batch(np.empty((0, 32)), 5) == []
    for hits, q in zip(batch, queries, strict=True):
        single = index.search(q, 5)
        assert [k for k, _ in hits] == [k for k, _ in single]
        assert [s for _, s in hits] == pytest.approx([s for _, s in single], abs=1e-5)


def test_masks_are_honoured_exactly() -> None:
    data = _unit(5000, 16, 4)
    index = VectorIndex(16)
    index.add([str(i) for i in range(5000)], data)
    allowed = [str(i) for i in range(0, 5000, 7)]
    for mask, rows in (
        (index.mask_for([*allowed, "unknown"]), np.arange(0, 5000, 7)),
        (index.mask_where(lambda key: int(key) % 2 == 0), np.arange(0, 5000, 2)),
    ):
        for q in _unit(5, 16, 5):
            assert [int(k) for k, _ in index.search(q, 8, mask)] == _brute(data, q, 8, rows)
        assert [[int(k) for k, _ in h] for h in index.search_batch(_unit(3, 16, 6), 8, mask)] == [
            _brute(data, q, 8, rows) for q in _unit(3, 16, 6)
        ]
    assert index.search(data[0], 3, np.zeros(5000, bool)) == []


def test_k_larger_than_allowed_returns_what_there_is() -> None:
    index = VectorIndex(4)
    index.add(["a", "b"], _unit(2, 4, 7))
    assert len(index.search(_unit(1, 4, 8)[0], 10)) == 2
    assert VectorIndex(4).search(_unit(1, 4, 8)[0], 3) == []


def test_remove_and_compaction() -> None:
    data = _unit(6000, 24, 9)
    index = VectorIndex(24)
    index.add([str(i) for i in range(6000)], data)
    assert index.remove(["5", "5", "nope"]) == 1
    assert index.n_rows == 6000 and len(index) == 5999
    removed = index.remove([str(i) for i in range(0, 6000, 2)])
    assert removed == 3000
    assert index.n_rows == len(index) == 2999  # compacted: a quarter of rows were dead
    live = np.array([i for i in range(1, 6000, 2) if i != 5])
    for q in _unit(5, 24, 10):
        hits = index.search(q, 6)
        assert [int(k) for k, _ in hits] == _brute(data, q, 6, live)
    assert index.keys() == [str(i) for i in live]
    np.testing.assert_allclose(index.vector("7"), data[7], atol=1e-6)
    index.add(["new"], data[0])
    assert index.search(data[0], 1)[0][0] == "new"


def test_bad_vectors_leave_the_index_unchanged() -> None:
    index = VectorIndex(3)
    index.add(["a"], np.array([[1.0, 0, 0]]))
    bad_calls = [
        (["b", "c"], np.ones((1, 3))),
        (["b"], np.ones((1, 4))),
        (["b", "c"], np.array([[1.0, 0, 0], [np.nan, 0, 0]])),
        (["b"], np.zeros((1, 3))),
        (["b", "b"], np.ones((2, 3))),
        ([1], np.ones((1, 3))),
        ("ab", np.ones((2, 3))),
    ]
    for keys, vectors in bad_calls:
        with pytest.raises(InvalidInputError):
            index.add(keys, vectors)  # type: ignore[arg-type]
    assert index.keys() == ["a"] and index.n_rows == 1
    with pytest.raises(InvalidInputError, match="shape"):
        index.search(np.ones(4), 1)
    with pytest.raises(InvalidInputError, match="mask"):
        index.search(np.ones(3), 1, np.ones(2, bool))
    with pytest.raises(InvalidInputError, match="mask"):
        index.search(np.ones(3), 1, np.ones(1, int))
    with pytest.raises(InvalidInputError, match="k must"):
        index.search(np.ones(3), 0)
    with pytest.raises(InvalidInputError):
        index.search(np.zeros(3), 1)
    with pytest.raises(InvalidInputError):
        index.remove("a")
    with pytest.raises(InvalidInputError, match="no vector"):
        index.vector("zz")


# -- VectorIndex: approximate --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> tuple[VectorIndex, npt.NDArray[np.float32]]:
    data = _unit(200_000, 384, 11)
    index = VectorIndex(384, exact_threshold=50_000)
    index.add([str(i) for i in range(len(data))], data)
    return index, data


def test_approximate_recall_at_10(big: tuple[VectorIndex, npt.NDArray[np.float32]]) -> None:
    index, data = big
    assert index.approximate
    queries = _unit(40, 384, 12)
    recalls = [_recall(index.search(q, 10), _brute(data, q, 10)) for q in queries]
    assert np.mean(recalls) >= 0.95
    for q in queries[:5]:  # scores are exact cosines even on the approximate path
        for key, score in index.search(q, 10):
            assert score == pytest.approx(float(data[int(key)] @ q), abs=1e-5)


def test_approximate_path_honours_masks(big: tuple[VectorIndex, npt.NDArray[np.float32]]) -> None:
    index, data = big
    rows = np.arange(0, len(data), 2)  # 100k allowed rows: still the approximate path
    mask = np.zeros(len(data), bool)
    mask[rows] = True
    queries = _unit(30, 384, 13)
    recalls = []
    for q in queries:
        hits = index.search(q, 10, mask)
        assert all(int(key) % 2 == 0 for key, _ in hits)
        recalls.append(_recall(hits, _brute(data, q, 10, rows)))
    assert np.mean(recalls) >= 0.95
    few = np.zeros(len(data), bool)
    few[[3, 30, 300, 3000]] = True  # a tiny allowed set is searched exactly
    assert {int(k) for k, _ in index.search(queries[0], 10, few)} == {3, 30, 300, 3000}


def test_approximate_batch_and_appends(big: tuple[VectorIndex, npt.NDArray[np.float32]]) -> None:
    index, data = big
    queries = _unit(6, 384, 14)
    exact = index.search_batch(queries, 10)  # many queries: exact matrix product
    assert [[int(k) for k, _ in hits] for hits in exact] == [_brute(data, q, 10) for q in queries]
    approx = index.search_batch(queries[:2], 10)  # few queries: one approximate scan each
    assert (
        np.mean([_recall(h, _brute(data, q, 10)) for h, q in zip(approx, queries[:2], strict=True)])
        >= 0.9
    )
    # Appends after the codes exist are coded at the next search.
    fresh = _unit(3, 384, 15)
    index.add(["extra0", "extra1", "extra2"], fresh)
    for i, q in enumerate(fresh):
        assert index.search(q, 1)[0] == (f"extra{i}", pytest.approx(1.0))
    assert index.remove(["extra0", "extra1", "extra2"]) == 3


def test_approximate_path_with_odd_dimension() -> None:
    data = _unit(30_000, 100, 16)  # 100 bits do not fill whole uint64 words
    index = VectorIndex(100, exact_threshold=5_000)
    index.add([str(i) for i in range(len(data))], data)
    queries = _unit(20, 100, 17)
    assert np.mean([_recall(index.search(q, 10), _brute(data, q, 10)) for q in queries]) >= 0.95


def test_compaction_across_storage_blocks_keeps_codes_in_step() -> None:
    data = _unit(150_000, 64, 18)  # three storage blocks
    index = VectorIndex(64, exact_threshold=20_000)
    index.add([str(i) for i in range(len(data))], data)
    queries = _unit(8, 64, 19)
    index.search(queries[0], 10)  # codes exist before the compaction
    gone = [str(i) for i in range(len(data)) if i % 5 in (0, 2, 3)]
    assert index.remove(gone) == len(gone)
    live = np.array([i for i in range(len(data)) if i % 5 in (1, 4)])
    assert index.n_rows == len(index) == len(live)
    exact = index.search_batch(queries, 10)  # many queries: exact over the compacted rows
    assert [[int(k) for k, _ in h] for h in exact] == [_brute(data, q, 10, live) for q in queries]
    approx = [_recall(index.search(q, 10), _brute(data, q, 10, live)) for q in queries]
    assert np.mean(approx) >= 0.9
    np.testing.assert_allclose(index.vector(str(live[-1])), data[live[-1]], atol=1e-6)
