"""MemoryService: access control, CAS, policies, history, as-of, bulk I/O, bad input."""

from __future__ import annotations

import pickle
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from memory import (
    SYSTEM,
    Candidate,
    Decision,
    Edge,
    EdgeType,
    HashEmbedder,
    MemoryService,
    NewMemory,
    NewTask,
    NodeKind,
    Operation,
    Principal,
    ScoredMemory,
    Tier,
)
from memory.errors import (
    AccessDeniedError,
    InvalidInputError,
    InvalidNamespaceError,
    InvalidRecordError,
    MemoryNotFoundError,
    VersionConflictError,
)
from policies import HeuristicPolicy
from tests.helpers.policies import RestatingPolicy

TEAM = ("team", "newsroom")
writer = Principal.agent("newsroom", "writer")
editor = Principal.agent("newsroom", "editor")
outsider = Principal.agent("lab", "spy")


@pytest.fixture
def service() -> Iterator[MemoryService]:
    with MemoryService.open(":memory:", embedder=HashEmbedder(), policy=HeuristicPolicy()) as svc:
        yield svc


def test_add_search_get(service: MemoryService) -> None:
    rec = service.add("Ana lives in Lisbon", principal=writer, namespace=TEAM, entities=["Ana"])
    assert rec.version == 1 and rec.author == writer.id and rec.is_current
    hits = service.search("where does Ana live", principal=editor, namespace_prefix=("team",))
    assert hits[0].record.id == rec.id
    assert {"vector", "bm25"} <= set(hits[0].components)
    assert service.get(rec.id, principal=editor).text == "Ana lives in Lisbon"


def test_private_working_memory_is_invisible_to_other_agents(service: MemoryService) -> None:
    secret = service.add(
        "draft headline about the mayor", principal=writer, namespace=writer.private_namespace()
    )
    shared = service.add("headline about the mayor", principal=writer, namespace=TEAM)
    for who in (editor, outsider):
        hits = service.search("mayor headline", principal=who, k=10)
        assert secret.id not in {h.record.id for h in hits}
        with pytest.raises(AccessDeniedError):
            service.get(secret.id, principal=who)
        with pytest.raises(AccessDeniedError):
            service.history(secret.id, principal=who)
        with pytest.raises(AccessDeniedError):
            service.update(secret.id, "x", principal=who, expected_version=1)
        with pytest.raises(AccessDeniedError):
            service.delete(secret.id, principal=who)
    assert shared.id in {h.record.id for h in service.search("mayor", principal=editor)}
    assert shared.id not in {h.record.id for h in service.search("mayor", principal=outsider)}
    assert writer.private_namespace() not in service.list_namespaces(principal=editor)
    assert writer.private_namespace() in service.list_namespaces(principal=writer)
    with pytest.raises(AccessDeniedError):
        service.add("planted", principal=outsider, namespace=TEAM)
    with pytest.raises(AccessDeniedError):
        service.add("x", principal=writer, namespace=("global", "facts"))


def test_update_is_compare_and_set(service: MemoryService) -> None:
    rec = service.add("Ana lives in Lisbon", principal=writer, namespace=TEAM)
    v2 = service.update(rec.id, "Ana lives in Porto", principal=editor, expected_version=1)
    assert v2.version == 2
    with pytest.raises(VersionConflictError) as err:
        service.update(rec.id, "Ana lives in Faro", principal=writer, expected_version=1)
    assert err.value.actual == 2 and rec.id in str(err.value)
    assert service.get(rec.id, principal=writer).text == "Ana lives in Porto"
    restored = pickle.loads(pickle.dumps(err.value))
    assert (restored.memory_id, restored.expected, restored.actual) == (rec.id, 1, 2)


def test_concurrent_increments_lose_no_update(service: MemoryService) -> None:
    rec = service.add("counter 0", principal=writer, namespace=TEAM)
    threads, per_thread = 8, 10
    conflicts = 0
    lock = threading.Lock()

    def bump() -> None:
        nonlocal conflicts
        for _ in range(per_thread):
            while True:
                current = service.get(rec.id, principal=writer)
                n = int(current.text.split()[1])
                try:
                    service.update(
                        rec.id,
                        f"counter {n + 1}",
                        principal=writer,
                        expected_version=current.version,
                    )
                    break
                except VersionConflictError:
                    with lock:
                        conflicts += 1

    _in_threads(bump, threads)
    final = service.get(rec.id, principal=writer)
    assert final.text == f"counter {threads * per_thread}"
    assert final.version == threads * per_thread + 1
    assert len(service.history(rec.id, principal=writer)) == threads * per_thread + 1


def test_concurrent_adds_are_group_committed(service: MemoryService) -> None:
    def add_many(i: int) -> None:
        for j in range(20):
            service.add(f"note {i}-{j}", principal=writer, namespace=TEAM)

    workers = [threading.Thread(target=add_many, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert service.stats()["current"] == 120


def _in_threads(work: Callable[[], None], threads: int) -> None:
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_concurrent_credits_all_count(service: MemoryService) -> None:
    rec = service.add("Check the wire before publishing", principal=writer, namespace=TEAM)
    threads, per_thread = 6, 15

    def credit() -> None:
        for _ in range(per_thread):
            service.credit(rec.id, 0.5, principal=editor)

    _in_threads(credit, threads)
    final = service.get(rec.id, principal=writer)
    assert final.utility == 0.5 * threads * per_thread  # no credit lost, none retried
    assert final.version == threads * per_thread + 1 and final.text == rec.text
    with pytest.raises(AccessDeniedError):
        service.credit(rec.id, 1.0, principal=outsider)
    with pytest.raises(MemoryNotFoundError, match="nope"):
        service.credit("nope", 1.0, principal=editor)
    with pytest.raises(InvalidRecordError, match="nan"):
        service.credit(rec.id, float("nan"), principal=editor)
    assert service.get(rec.id, principal=writer).version == final.version


def test_write_is_one_transaction_checked_before_it_starts(service: MemoryService) -> None:
    used = service.add("Call the source back", principal=writer, namespace=TEAM)
    elsewhere = service.add("lab notes", principal=outsider, namespace=("team", "lab"))
    run = NewMemory(TEAM, "Task: verify the quote. Outcome: success", id="run-1")
    task = NewTask("verify the quote", TEAM, {"thread": "t1"}, id="task:1")
    edges = [
        Edge("task:1", "run-1", EdgeType.RELATES_TO, NodeKind.TASK, namespace=TEAM),
        Edge("task:1", used.id, EdgeType.RELATES_TO, NodeKind.TASK, namespace=TEAM),
    ]
    before = service.stats()
    for bad in (
        {"credits": {used.id: 1.0, elsewhere.id: 1.0}},  # no write access to the lab's
        {"credits": {used.id: float("inf")}},
        {"edges": [*edges, Edge("task:1", "x", EdgeType.RELATES_TO, namespace=("team", "lab"))]},
        {"tasks": [task, NewTask("again", TEAM, id="task:1")]},
    ):
        with pytest.raises((AccessDeniedError, InvalidRecordError)):
            service.write(principal=editor, memories=[run], **{"tasks": [task], **bad})
        assert service.stats() == before
    out = service.write(
        principal=editor, memories=[run], credits={used.id: 1.0}, tasks=[task], edges=edges
    )
    assert [(r.id, r.version, r.utility) for r in out] == [("run-1", 1, 0.0), (used.id, 2, 1.0)]
    assert service.search("verify the quote", principal=editor, k=1)[0].record.id == "run-1"
    assert service.stats()["current"] == before["current"] + 1


def _said_by_ana(text: str, day: int, *, speaker: str | None = "Ana") -> Candidate:
    """A candidate Ana said on 2024-01-``day`` (turn ``D<day>:1``); ``speaker=None`` leaves
    the speaker unknown."""
    return Candidate(
        text=text,
        namespace=TEAM,
        speaker=speaker,
        entities=("Ana",),
        time=datetime(2024, 1, day, tzinfo=UTC),
        provenance=(f"D{day}:1",),
    )


def test_remember_update_keeps_history_and_as_of(service: MemoryService) -> None:
    first = service.remember([_said_by_ana("Ana lives in Lisbon", 1)], principal=writer)
    before_move = datetime.now(UTC)
    time.sleep(0.01)
    moved = service.remember([_said_by_ana("Ana lives in Porto now", 9)], principal=writer)
    assert first[0].decision.operation is Operation.ADD
    assert moved[0].decision.operation is Operation.UPDATE, moved[0].decision
    memory_id = moved[0].record.id if moved[0].record else ""
    assert memory_id == (first[0].record.id if first[0].record else None)
    history = service.history(memory_id, principal=writer)
    assert [h.operation for h in history] == [Operation.ADD, Operation.UPDATE]
    assert history[1].policy == "heuristic" and history[1].confidence is not None
    assert service.get(memory_id, principal=writer, as_of=before_move).text == "Ana lives in Lisbon"
    current = service.get(memory_id, principal=writer)
    assert current.provenance == ("D1:1", "D9:1")
    old = service.versions(memory_id, principal=writer)[0]
    assert old.valid_to == datetime(2024, 1, 9, tzinfo=UTC)
    present = service.search("Where does Ana live?", principal=writer, k=5)
    assert [h.record.text for h in present] == ["Ana lives in Porto now"]
    past = service.search("Where did Ana live before?", principal=writer, k=5)
    assert "Ana lives in Lisbon" in {h.record.text for h in past}


def test_a_restating_update_keeps_the_memorys_world_time(service: MemoryService) -> None:
    (first,) = service.remember([_said_by_ana("Ana walks her dog at dawn", 1)], principal=writer)
    (again,) = service.remember(
        [_said_by_ana("Ana walks her dog at dawn, every day", 9)],
        principal=writer,
        policy=RestatingPolicy(),
    )
    assert first.record is not None and again.record is not None
    assert again.record.id == first.record.id and again.record.version == 2
    assert again.record.text == "Ana walks her dog at dawn, every day"
    assert again.record.provenance == ("D1:1", "D9:1")
    assert again.record.valid_from == datetime(2024, 1, 1, tzinfo=UTC)
    old = service.versions(first.record.id, principal=writer)[0]
    assert old.valid_to is None and old.superseded_at is not None


def test_only_an_update_can_restate(service: MemoryService) -> None:
    class Confused:
        name = "confused"

        def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
            return Decision(Operation.ADD, restates=True)

    with pytest.raises(InvalidInputError, match="'confused' returned ADD with restates=True"):
        service.remember(
            [_said_by_ana("Ana walks her dog", 1)], principal=writer, policy=Confused()
        )
    assert service.stats()["current"] == 0


def test_a_candidates_speaker_is_stored_with_the_memory(service: MemoryService) -> None:
    (said,) = service.remember([_said_by_ana("Ana lives in Lisbon", 1)], principal=writer)
    assert said.record is not None and said.record.metadata["speaker"] == "Ana"
    # Search reads it: a question about Ana holds back what Ben said.
    service.remember(
        [Candidate("Ben says Lisbon is lovely in spring", TEAM, speaker="Ben")], principal=writer
    )
    hits = service.search("What does Ana say about Lisbon?", principal=writer, k=2)
    assert hits[0].record.text == "Ana lives in Lisbon"
    # The metadata's own speaker (an extractor's) is kept.
    quoted = Candidate("Ana: I love it here", TEAM, speaker="Ana", metadata={"speaker": "Ann"})
    (kept,) = service.remember([quoted], principal=writer)
    assert kept.record is not None and kept.record.metadata["speaker"] == "Ann"


def test_hypothetical_never_updates(service: MemoryService) -> None:
    service.remember(
        [Candidate(text="Ana lives in Lisbon", namespace=TEAM, speaker="Ana", entities=("Ana",))],
        principal=writer,
    )
    out = service.remember(
        [
            Candidate(
                text="If Ana moved to Porto she would live near the sea",
                namespace=TEAM,
                speaker="Ana",
                entities=("Ana",),
            )
        ],
        principal=writer,
    )
    assert out[0].decision.operation is Operation.ADD


def test_delete_is_soft(service: MemoryService) -> None:
    rec = service.add("Ben has a red car", principal=writer, namespace=TEAM)
    before = datetime.now(UTC)
    time.sleep(0.01)
    service.delete(rec.id, principal=writer, expected_version=1)
    with pytest.raises(MemoryNotFoundError):
        service.get(rec.id, principal=writer)
    assert service.get(rec.id, principal=writer, as_of=before).text == "Ben has a red car"
    assert rec.id not in {h.record.id for h in service.search("red car", principal=writer)}
    assert service.search("red car", principal=writer, as_of=before)[0].record.id == rec.id
    assert [h.operation for h in service.history(rec.id, principal=writer)] == [
        Operation.ADD,
        Operation.DELETE,
    ]


def test_filters(service: MemoryService) -> None:
    service.add("alpha event", principal=writer, namespace=TEAM, tier=Tier.INTERACTION)
    fact = service.add("alpha fact", principal=writer, namespace=TEAM, metadata={"kind": "x"})
    service.add("alpha elsewhere", principal=SYSTEM, namespace=("team", "newsroom2"))
    hits = service.search("alpha", principal=SYSTEM, namespace_prefix=TEAM, tiers=[Tier.SEMANTIC])
    assert [h.record.id for h in hits] == [fact.id]
    hits = service.search("alpha", principal=SYSTEM, metadata={"kind": "x"})
    assert [h.record.id for h in hits] == [fact.id]
    hits = service.search("alpha", principal=SYSTEM, namespace_prefix=TEAM)
    assert len(hits) == 2  # ("team", "newsroom2") is a sibling, not a child


def test_parquet_round_trip(service: MemoryService, tmp_path: Path) -> None:
    service.add("Ana lives in Lisbon", principal=writer, namespace=TEAM, entities=["Ana"])
    service.add("private", principal=writer, namespace=writer.private_namespace())
    out = tmp_path / "team.parquet"
    assert service.export_parquet(out, principal=editor) == 1  # the private one is not readable
    with MemoryService.open(tmp_path / "copy.duckdb", embedder=HashEmbedder()) as copy:
        assert copy.import_parquet(out, principal=editor) == 1
        hit = copy.search("Ana Lisbon", principal=editor)[0]
        assert hit.record.text == "Ana lives in Lisbon" and hit.record.entities == ("Ana",)
        with pytest.raises(AccessDeniedError):
            copy.import_parquet(out, principal=outsider)


def test_parquet_files_that_cannot_be_read_or_written_are_named(
    service: MemoryService, tmp_path: Path
) -> None:
    service.add("Ana lives in Lisbon", principal=writer, namespace=TEAM)
    not_parquet = tmp_path / "notes.txt"
    not_parquet.write_text("Ana lives in Lisbon\n")
    for path in (not_parquet, tmp_path / "missing.parquet", tmp_path):
        with pytest.raises(InvalidInputError, match=f"cannot read Parquet file '{path}'"):
            service.import_parquet(path, principal=editor)
    for path in (tmp_path / "no" / "such" / "folder.parquet", tmp_path):
        with pytest.raises(InvalidInputError, match=f"cannot write Parquet file '{path}'"):
            service.export_parquet(path, principal=editor)
    assert service.stats()["current"] == 1  # nothing lost, nothing added


def test_import_arrow_fills_defaults_and_indexes(service: MemoryService) -> None:
    table = pa.table({"namespace": ["team/newsroom"] * 3, "text": ["one", "two", "three"]})
    assert service.import_arrow(table, principal=writer) == 3
    assert service.search("two", principal=writer)[0].record.text == "two"


def test_reopen_rebuilds_indexes(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    with MemoryService.open(path, embedder=HashEmbedder()) as svc:
        rec = svc.add("Ana lives in Lisbon", principal=writer, namespace=TEAM)
        svc.update(rec.id, "Ana lives in Porto", principal=writer, expected_version=1)
        gone = svc.add("temporary", principal=writer, namespace=TEAM)
        svc.delete(gone.id, principal=writer)
    with MemoryService.open(path, embedder=HashEmbedder()) as svc:
        assert [h.record.text for h in svc.search("Ana lives", principal=writer)] == [
            "Ana lives in Porto"
        ]
        assert gone.id not in {h.record.id for h in svc.search("temporary", principal=writer)}
        assert svc.stats()["current"] == 1


def test_a_reopened_store_searches_as_the_service_that_wrote_it(tmp_path: Path) -> None:
    """The index built from the file at open (in bulk) ranks as the one kept up write by
    write: same memories, versions and scores, for words, speakers, slots and dates."""
    path = tmp_path / "m.duckdb"
    said = [
        ("Ana", "I moved to Lisbon last spring.", ["residence"], "2023-05-01"),
        ("Ana", "I'd move to Oslo if I could.", ["residence"], "2023-05-02"),
        ("Ben", "My new job at the bakery starts Monday.", ["job"], "2023-05-03"),
        ("Ben", "Camping by the lake with the kids was great!", [], "2023-05-04"),
        ("Ana", "We de-stress by dancing; it\u2019s Ana's go-to.", [], "2023-06-01"),
    ]
    queries = [
        "Where does Ana live?",
        "Where did Ana live before?",
        "What job does Ben have?",
        "camping lake kids",
        "How does Ana destress?",
        "What did Ben say in May 2023?",
    ]
    with MemoryService.open(path, embedder=HashEmbedder()) as live:
        assert live.search("nothing yet", principal=writer) == []  # indexes kept write by write
        written = [
            live.add(
                text,
                principal=writer,
                namespace=TEAM,
                metadata={"speaker": who, "slots": slots, "session_date": day},
            )
            for who, text, slots, day in said
        ]
        live.update(written[0].id, "I moved to Porto.", principal=writer, expected_version=1)
        live.delete(written[3].id, principal=writer)
        live.import_arrow(
            pa.table({"namespace": ["team/newsroom"] * 2, "text": ["lake house", "Ana's job"]}),
            principal=writer,
        )
        before = [
            [(h.record.id, h.record.version, h.score) for h in live.search(q, principal=writer)]
            for q in queries
        ]
    with MemoryService.open(path, embedder=HashEmbedder()) as reopened:
        after = [
            [(h.record.id, h.record.version, h.score) for h in reopened.search(q, principal=writer)]
            for q in queries
        ]
    assert all(before)
    assert [[hit[:2] for hit in hits] for hits in after] == [
        [hit[:2] for hit in hits] for hits in before
    ]
    scores = [hit[2] for hits in before for hit in hits]
    assert [hit[2] for hits in after for hit in hits] == pytest.approx(scores)


def test_a_reopened_store_breaks_ties_as_the_service_that_wrote_it(tmp_path: Path) -> None:
    """Memories that score the same come back in the order the writing service gave them,
    which is the order they were written in, not their ids' order."""
    path = tmp_path / "m.duckdb"
    ids = [f"note-{c}" for c in "fedcba"]
    same = pa.table(
        {"id": ids, "namespace": ["team/newsroom"] * 6, "text": ["the printer jams"] * 6}
    )
    with MemoryService.open(path, embedder=HashEmbedder()) as live:
        live.import_arrow(same, principal=writer)
        before = [h.record.id for h in live.search("printer jams", principal=writer)]
    with MemoryService.open(path, embedder=HashEmbedder()) as reopened:
        after = [h.record.id for h in reopened.search("printer jams", principal=writer)]
    assert before == ids
    assert after == before


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": 42}, InvalidInputError),
        ({"text": ""}, InvalidRecordError),
        ({"text": "a\x00b"}, InvalidRecordError),
        ({"text": "x" * 100_001}, InvalidRecordError),
        ({"namespace": "team"}, InvalidNamespaceError),
        ({"namespace": ()}, InvalidNamespaceError),
        ({"namespace": ("team", "a/b")}, InvalidNamespaceError),
        ({"metadata": {"k": object()}}, InvalidRecordError),
        ({"trust": 2.0}, InvalidRecordError),
        ({"tier": "bogus"}, InvalidInputError),
    ],
)
def test_bad_input_is_rejected_and_loses_nothing(
    service: MemoryService, kwargs: dict[str, object], error: type[Exception]
) -> None:
    keep = service.add("keep me", principal=writer, namespace=TEAM)
    args: dict[str, object] = {"text": "fine", "namespace": TEAM, **kwargs}
    text = args.pop("text")
    with pytest.raises(error):
        service.add(text, principal=writer, **args)  # type: ignore[arg-type]
    assert service.get(keep.id, principal=writer).text == "keep me"
    assert service.stats()["current"] == 1


@pytest.mark.parametrize("k", [0, -1, 10_001, "3"])
def test_bad_k(service: MemoryService, k: object) -> None:
    with pytest.raises(InvalidInputError, match="k must"):
        service.search("x", principal=writer, k=k)  # type: ignore[arg-type]


def test_a_search_within_a_word_budget_is_its_best_hits_that_fit(service: MemoryService) -> None:
    for text in (
        "the launch slipped to Friday because the printer failed again today",  # 11 words
        "launch on Friday",  # 3
        "the Friday launch party is at the old harbour warehouse near the ferry",  # 13
        "Friday launch",  # 2
    ):
        service.add(text, principal=writer, namespace=TEAM)
    ranked = service.search("Friday launch", principal=editor, k=10)
    assert len(ranked) == 4
    for budget in (1, 2, 5, 14, 16, 29, 300):
        packed = service.search("Friday launch", principal=editor, k=10, budget_words=budget)
        # Rank order kept; a hit that would overflow is skipped, a shorter one may follow.
        expected, used = [], 0
        for hit in ranked:
            words = len(hit.record.text.split())
            if used + words <= budget:
                expected.append(hit.record.id)
                used += words
        assert [h.record.id for h in packed] == expected, budget
        assert sum(len(h.record.text.split()) for h in packed) <= budget
    assert service.search("Friday launch", principal=editor, k=1, budget_words=300) == ranked[:1]
    assert service.search("Friday launch", principal=editor, budget_words=1) == []


@pytest.mark.parametrize("budget", [0, -5, True, "300", 2.5])
def test_a_bad_word_budget_is_named(service: MemoryService, budget: object) -> None:
    said = f"budget_words must be an integer >= 1 or None, got {budget!r}"
    with pytest.raises(InvalidInputError, match=re.escape(said)):
        service.search("x", principal=writer, budget_words=budget)  # type: ignore[arg-type]


def test_unknown_ids(service: MemoryService) -> None:
    with pytest.raises(MemoryNotFoundError, match="nope"):
        service.get("nope", principal=writer)
    with pytest.raises(MemoryNotFoundError, match="nope"):
        service.history("nope", principal=writer)
    with pytest.raises(MemoryNotFoundError, match="nope"):
        service.update("nope", "x", principal=writer, expected_version=1)


def test_remember_needs_a_policy() -> None:
    with (
        MemoryService.open(":memory:", embedder=HashEmbedder()) as svc,
        pytest.raises(InvalidInputError, match="policy"),
    ):
        svc.remember([Candidate(text="x", namespace=TEAM)], principal=writer)


def test_a_question_about_an_earlier_value_gets_the_version_before_the_one_it_names(
    service: MemoryService,
) -> None:
    # The speaker left unknown, so "Ana" stays among the query's words: with the speaker
    # prior, all three are Ana's and the hash embedder ties the first two.
    said = [
        ("Ana lives in Lisbon", 1),
        ("Ana went to Porto to see Porto play at home", 3),
        ("Ana lives in Porto now", 9),
    ]
    for text, day in said:
        applied = service.remember([_said_by_ana(text, day, speaker=None)], principal=writer)
    moved = applied
    assert moved[0].decision.operation is Operation.UPDATE

    def texts(query: str) -> list[str]:
        return [h.record.text for h in service.search(query, principal=writer, k=5)]

    # The question names the new value; the version it replaced ranks right after it, where
    # the match on "Porto" alone would put the football trip first.
    assert texts("Where did Ana live before Porto?")[:3] == [
        "Ana lives in Porto now",
        "Ana lives in Lisbon",
        "Ana went to Porto to see Porto play at home",
    ]
    assert texts("Where does Ana live now?")[0] == "Ana lives in Porto now"


def test_a_write_of_a_few_rows_stores_what_a_batch_stores(tmp_path: Path) -> None:
    # Up to 8 rows go to DuckDB as bound parameters, larger batches as an Arrow table.
    from memory import NewMemory

    admin = Principal.admin()
    odd = "Ana's note: 'quoted', a ? and $1; DROP TABLE memories; -- ünï ☃ \x01"
    when = datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)

    def new(i: int) -> NewMemory:
        return NewMemory(
            TEAM,
            f"{odd} {i}",
            entities=("Ana", "Porto") if i % 2 else (),
            provenance=(f"D1:{i}",),
            metadata={"speaker": "Ana", "slots": ["residence"], "n": i, "none": None},
            valid_from=when if i % 3 else None,
            trust=0.5,
            utility=0.25,
        )

    with MemoryService.open(tmp_path / "m.duckdb", embedder=HashEmbedder()) as service:
        (few,) = service.add_many([new(1)], principal=admin)
        many = service.add_many([new(i) for i in range(1, 13)], principal=admin)
        target = many[1].id
        service.update(target, "Ana lives in Porto", principal=admin, expected_version=1)
        stored = [service.get(r.id, principal=admin) for r in (few, many[0], many[1])]
        history = service.history(target, principal=admin)
        vectors = service.export_arrow(principal=admin).column("embedding").to_pylist()

    def fields(record: object) -> tuple[object, ...]:
        names = ("text", "entities", "provenance", "metadata", "valid_from", "trust", "utility")
        return tuple(getattr(record, name) for name in names)

    assert fields(stored[0]) == fields(stored[1]) == fields(few)
    assert stored[0].text == new(1).text and stored[0].valid_from == when
    assert stored[0].metadata["slots"] == ["residence"] and stored[0].metadata["none"] is None
    assert (stored[2].version, stored[2].text) == (2, "Ana lives in Porto")
    assert [(h.operation, h.old_version, h.new_version) for h in history] == [
        (Operation.ADD, None, 1),
        (Operation.UPDATE, 1, 2),
    ]
    expected = HashEmbedder().embed([new(1).text])[0]
    assert vectors.count(expected.tolist()) == 2  # float32 exactly, by either path


# -- erasure ---------------------------------------------------------------------------------

ANA = ("user", "ana")


def _texts(service: MemoryService, query: str) -> list[str]:
    hits = service.search(query, principal=SYSTEM, k=50, include_superseded=True)
    return [hit.record.text for hit in hits]


def test_erase_forgets_a_namespace_in_the_store_and_in_search(tmp_path: Path) -> None:
    ana = Principal.user("ana")
    with MemoryService.open(tmp_path / "m.duckdb", embedder=HashEmbedder()) as service:
        old = service.add("Ana lives in Lisbon", principal=ana, namespace=ANA, entities=["Ana"])
        service.update(old.id, "Ana moved to Porto", principal=ana, expected_version=1)
        gone = service.add("Ana's bank is Millennium", principal=ana, namespace=(*ANA, "bank"))
        service.delete(gone.id, principal=ana)
        kept = service.add("Ana joined the newsroom", principal=writer, namespace=TEAM)
        assert len(_texts(service, "Ana Lisbon Porto bank")) == 3  # a deleted one is not

        erased = service.erase(ANA, principal=ana)

        assert (erased.memories, erased.versions, erased.rewritten) == (2, 4, True)
        assert _texts(service, "Ana Lisbon Porto bank") == [kept.text]
        for memory_id in (old.id, gone.id):
            with pytest.raises(MemoryNotFoundError):
                service.history(memory_id, principal=SYSTEM)
        assert service.check_integrity(principal=SYSTEM) == []  # the index is the store's
        assert service.stats() == {"current": 1, "versions": 1, "namespaces": 1}
        again = service.add("Ana is back", principal=ana, namespace=ANA)
        assert _texts(service, "Ana back")[0] == again.text
    with MemoryService.open(tmp_path / "m.duckdb", embedder=HashEmbedder()) as reopened:
        assert sorted(_texts(reopened, "Ana")) == sorted([kept.text, again.text])


def test_erase_is_for_admins_and_the_namespace_owner(service: MemoryService) -> None:
    service.add("Ana lives in Lisbon", principal=SYSTEM, namespace=ANA)
    service.add("Ana's other note", principal=SYSTEM, namespace=(*ANA, "notes"))
    before = service.stats()
    with pytest.raises(AccessDeniedError, match="may not write"):
        service.erase(ANA, principal=Principal.user("bob"))
    for where in (ANA, TEAM):  # even one the agent may write in
        with pytest.raises(AccessDeniedError, match="an agent may delete memories"):
            service.erase(where, principal=writer)
    with pytest.raises(InvalidNamespaceError):
        service.erase((), principal=SYSTEM)
    assert service.stats() == before
    assert service.erase(ANA, principal=SYSTEM).memories == 2
    assert service.erase(ANA, principal=SYSTEM).memories == 0  # erasing again: nothing left


def test_erase_waits_for_calls_under_way_and_they_for_it(tmp_path: Path) -> None:
    """Writers and readers of other namespaces run through an erasure (which replaces the
    store's file): none fails, and each write lands in the file and in the index."""
    with MemoryService.open(tmp_path / "m.duckdb", embedder=HashEmbedder()) as service:
        for i in range(60):
            service.add(f"Ana's note {i}", principal=SYSTEM, namespace=ANA)
        errors: list[BaseException] = []
        written: list[str] = []
        stop = threading.Event()

        def work(n: int) -> None:
            try:
                i = 0
                while not stop.is_set() or i < 5:
                    rec = service.add(f"note {n}-{i}", principal=writer, namespace=TEAM)
                    written.append(rec.id)
                    service.search(f"note {n}", principal=writer, namespace_prefix=TEAM)
                    service.get(rec.id, principal=writer)
                    i += 1
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        erased = service.erase(ANA, principal=SYSTEM)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [] and erased.memories == 60
        assert service.check_integrity(principal=SYSTEM) == []
        assert service.stats()["current"] == len(written)
        assert {h.record.id for h in service.search("note", principal=SYSTEM, k=1000)} == set(
            written
        )
