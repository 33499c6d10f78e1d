"""Word tokenizer for keyword search: lower-casing, stop words, a light suffix stemmer.

The stemmer is deliberately small (plurals, -ing, -ed, a final -e) so that "camping",
"camped", "camps" and "camp" meet, without Porter's aggressive conflations. It runs on
both documents and queries, so only consistency matters, not linguistic correctness.

A hyphenated compound counts as its parts and as the word written without hyphens, so
"de-stress" and "destress", "e-mail" and "email" find each other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["STOP_WORDS", "stem", "tokenize", "tokenize_corpus"]

# The common English list (NLTK's), apostrophe forms included because the tokenizer keeps
# "don't" as one token before the stop-word check.
_STOP_TEXT = """
    a about above after again against ain all am an and any are aren aren't as at be because
    been before being below between both but by can couldn couldn't d did didn didn't do does
    doesn doesn't doing don don't down during each few for from further had hadn hadn't has
    hasn hasn't have haven haven't having he he'd he'll he's her here hers herself him himself
    his how i i'd i'll i'm i've if in into is isn isn't it it'd it'll it's its itself just ll m
    ma me mightn mightn't more most mustn mustn't my myself needn needn't no nor not now o of
    off on once only or other our ours ourselves out over own re s same shan shan't she she'd
    she'll she's should should've shouldn shouldn't so some such t than that that'll the their
    theirs them themselves then there these they they'd they'll they're they've this those
    through to too under until up ve very was wasn wasn't we we'd we'll we're we've were weren
    weren't what when where which while who whom why will with won won't wouldn wouldn't y you
    you'd you'll you're you've your yours yourself yourselves
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())

# Letters and digits of any script; an inner apostrophe keeps "don't" and "anna's" whole.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
_VOWELS = frozenset("aeiouy")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lower-cased, stemmed word tokens without stop words; after them,
    each hyphenated compound once more as one word ("de-stress": "de", "stress", "destress")."""
    lowered = text.casefold().replace("\u2019", "'").replace("\u2018", "'")
    tokens = [token for word in _WORD.findall(lowered) if (token := _token(word)) is not None]
    if "-" in lowered:
        tokens += _compounds(lowered)
    return tokens


def tokenize_corpus(
    texts: Sequence[str],
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """:func:`tokenize` of every text at once, for an index built in bulk.

    Returns:
        ``(terms, docs, ids)``: the distinct tokens, and for each token of each text
        the text's position in ``texts`` and the token's position in ``terms``.
        Text ``i`` has the tokens ``tokenize(texts[i])`` has, in another order.

    The texts are split into words as one string (one regular-expression call, not one per
    text), and each distinct word is read once.
    """
    if any(_END in text for text in texts):  # the texts cannot be told apart when joined
        listed = [tokenize(text) for text in texts]
        coded = pa.array([t for tokens in listed for t in tokens], pa.string()).dictionary_encode()
        docs = np.repeat(np.arange(len(texts)), [len(tokens) for tokens in listed])
        ids = coded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return coded.dictionary.to_pylist(), docs.astype(np.int64), ids
    # Folded text by text: a text in ASCII folds on a fast path that the joined texts lose
    # as soon as one of them is not.
    lowered = _END.join([text.casefold() for text in texts]) + _END
    lowered = lowered.replace("\u2019", "'").replace("\u2018", "'")
    coded = pa.array(_WORD_OR_END.findall(lowered), pa.string()).dictionary_encode()
    words = coded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    distinct = coded.dictionary.to_pylist()
    terms: dict[str, int] = {}
    term_of_word = np.full(len(distinct), -1, np.int64)  # -1: a stop word, or an end
    for i, word in enumerate(distinct):
        token = None if word == _END else _token(word)
        if token is not None:
            term_of_word[i] = terms.setdefault(token, len(terms))
    ends = words == distinct.index(_END)  # the corpus ends with one, so it is there
    doc_of_word = np.cumsum(ends) - ends
    ids = term_of_word[words]
    kept = ids >= 0
    docs, ids = doc_of_word[kept], ids[kept]
    if "-" in lowered:
        extra_docs, extra_ids = [], []
        for doc, folded in enumerate(lowered.split(_END)[: len(texts)]):
            if "-" in folded:
                for token in _compounds(folded):
                    extra_docs.append(doc)
                    extra_ids.append(terms.setdefault(token, len(terms)))
        docs = np.concatenate([docs, np.asarray(extra_docs, np.int64)])
        ids = np.concatenate([ids, np.asarray(extra_ids, np.int64)])
    return list(terms), docs, ids


_END = "\x00"  # ends each text in the joined corpus: not a word character, so in no word
_WORD_OR_END = re.compile(rf"{_WORD.pattern}|{_END}")


def _token(word: str) -> str | None:
    """The token of one lower-cased word, or None for a stop word."""
    if word in STOP_WORDS:
        return None
    if "'" in word:
        # Possessives name the owner; other contractions lose the apostrophe.
        word = word[:-2] if word.endswith("'s") else word.replace("'", "")
        if not word or word in STOP_WORDS:
            return None
    return stem(word)


def _compounds(lowered: str) -> list[str]:
    """Each hyphenated compound of ``lowered`` written as one word, stemmed."""
    joined = (compound.replace("-", "") for compound in _COMPOUND.findall(lowered))
    return [stem(word) for word in joined if word not in STOP_WORDS]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip plural, -ing and -ed endings and a final -e from a lower-case word."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") or (word.endswith("ed") and not word.endswith("eed")):
        base = word[:-3] if word.endswith("ing") else word[:-2]
        # A stem needs a vowel and some length: "sing", "bring", "shed" stay whole.
        if len(base) >= 3 and not _VOWELS.isdisjoint(base):
            word = base
            if word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # running -> run, but fall / miss keep their pair
    if len(word) > 3 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]  # make / making -> mak, hike / hiked -> hik
    return word
