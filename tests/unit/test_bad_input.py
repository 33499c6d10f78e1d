"""Bad input the fuzzer found raising something other than a clear ColonyError."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from memory import HashEmbedder, MemoryService, Principal
from memory.errors import InvalidInputError, MemoryNotFoundError

ADMIN = Principal.admin()


@pytest.fixture
def service() -> Iterator[MemoryService]:
    with MemoryService.open(embedder=HashEmbedder()) as memory:
        yield memory


def _id(memory: MemoryService) -> str:
    return memory.add("Ana lives in Porto", principal=ADMIN, namespace=("team", "t")).id


CASES: list[tuple[str, Callable[[MemoryService], Any], type[Exception], str]] = [
    (
        "a principal that is not one",
        lambda m: m.search("x", principal=b"admin"),  # type: ignore[arg-type]
        InvalidInputError,
        "needs a Principal, got b'admin'",
    ),
    (
        "no principal for a batch",
        lambda m: m.add_many([], principal=None),  # type: ignore[arg-type]
        InvalidInputError,
        "needs a Principal, got None",
    ),
    (
        "a vector of text",
        lambda m: m.search_vector("abc", principal=ADMIN),
        InvalidInputError,
        "vector must be a 1-D float array, got 'abc'",
    ),
    (
        "a vector of the wrong size",
        lambda m: m.search_vector([0.5, 0.5], principal=ADMIN),
        InvalidInputError,
        "dimensions, got 2",
    ),
    (
        "a vector with NaN",
        lambda m: m.search_vector([float("nan")] * m.embedder.dim, principal=ADMIN),
        InvalidInputError,
        "finite",
    ),
    (
        "k as text",
        lambda m: m.search_vector([0.1] * m.embedder.dim, principal=ADMIN, k="5"),  # type: ignore[arg-type]
        InvalidInputError,
        "k must be an integer in 1..",
    ),
    (
        "a limit as text",
        lambda m: m.list_namespaces(principal=ADMIN, limit="10"),  # type: ignore[arg-type]
        InvalidInputError,
        "limit must be an int >= 1, got '10'",
    ),
    (
        "a negative offset",
        lambda m: m.list_namespaces(principal=ADMIN, offset=-1),
        InvalidInputError,
        "offset must be an int >= 0, got -1",
    ),
    (
        "entities that are None",
        lambda m: m.add("x", principal=ADMIN, namespace=("team", "t"), entities=None),  # type: ignore[arg-type]
        InvalidInputError,
        "entities must be a tuple of strings, got NoneType",
    ),
    (
        "metadata that is a number",
        lambda m: m.update(_id(m), "y", principal=ADMIN, expected_version=1, metadata=3.5),  # type: ignore[arg-type]
        InvalidInputError,
        "metadata must be a mapping, got 3.5",
    ),
    (
        "tiers that are a number",
        lambda m: m.search("x", principal=ADMIN, tiers=3.5),  # type: ignore[arg-type]
        InvalidInputError,
        "tiers must be a list of tier names or None, got 3.5",
    ),
    (
        "a tier that does not exist",
        lambda m: m.search("x", principal=ADMIN, tiers=["nope"]),  # type: ignore[list-item]
        InvalidInputError,
        "tiers must be among working, interaction, semantic, insight, got ['nope']",
    ),
    (
        "a time that is text",
        lambda m: m.search("x", principal=ADMIN, since="yesterday"),  # type: ignore[arg-type]
        InvalidInputError,
        "since must be a datetime or None, got 'yesterday'",
    ),
    (
        "an id that is a list",
        lambda m: m.delete(["a"], principal=ADMIN),  # type: ignore[arg-type]
        MemoryNotFoundError,
        "ids are non-empty str",
    ),
    (
        "an id with a lone surrogate",
        lambda m: m.history("\ud800", principal=ADMIN),
        MemoryNotFoundError,
        "valid Unicode",
    ),
    (
        "a credit to an id that is a list",
        lambda m: m.credit(["a"], 1.0, principal=ADMIN),  # type: ignore[arg-type]
        MemoryNotFoundError,
        "no memory with id ['a']",
    ),
    (
        "credits that are not a mapping",
        lambda m: m.write(principal=ADMIN, credits=[1, 2]),  # type: ignore[arg-type]
        InvalidInputError,
        "credits must map memory ids to numbers, got [1, 2]",
    ),
    (
        "a write whose memories are one text",
        lambda m: m.write(principal=ADMIN, memories="Ana lives in Porto"),  # type: ignore[arg-type]
        InvalidInputError,
        "memories must be a list of NewMemory, got 'Ana lives in Porto'",
    ),
    (
        "a write with a task that is a string",
        lambda m: m.write(principal=ADMIN, tasks=["plan the trip"]),  # type: ignore[list-item]
        InvalidInputError,
        "tasks must hold NewTask objects, got 'plan the trip'",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(
    service: MemoryService,
    case: str,
    call: Callable[[MemoryService], Any],
    error: type[Exception],
    message: str,
) -> None:
    before = service.export_arrow(principal=ADMIN, all_versions=True).num_rows
    with pytest.raises(error, match=re.escape(message)):
        call(service)
    created = 1 if case == "metadata that is a number" else 0  # the memory it tried to change
    assert service.export_arrow(principal=ADMIN, all_versions=True).num_rows == before + created
    assert service.check_integrity(principal=ADMIN) == []
