"""Every Python snippet in the README runs; the CLI's commands answer --help and work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from typer.testing import CliRunner

import agents
import memory
import orchestrator
import policies
import telemetry
from orchestrator.cli import app
from telemetry import TraceStore
from tests.helpers.imports import imported_by

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def python_snippets() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("snippet", python_snippets())
def test_readme_python_snippets_run(
    snippet: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    exec(compile(snippet, "README.md", "exec"), {})


@pytest.mark.parametrize(
    ("marker", "printed"),
    [
        ("from orchestrator import Team", ["Porto: 232k", "['researcher', 'writer']"]),
        ("from memory import MemoryService", ["Ana lives in Porto", "['ADD', 'UPDATE']"]),
    ],
)
def test_readme_snippets_print_what_they_say(
    marker: str, printed: list[str], tmp_path: Path
) -> None:
    snippet = next(s for s in python_snippets() if marker in s)
    env = {**os.environ, "COLONY_EMBEDDER": "hash"}
    out = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == printed


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["bench"],
        ["bench", "locomo"],
        ["bench", "store"],
        ["memory"],
        ["memory", "search"],
        ["memory", "namespaces"],
        ["memory", "history"],
        ["memory", "check"],
        ["memory", "quarantine"],
        ["memory", "release"],
        ["memory", "export"],
        ["memory", "import"],
        ["run"],
        ["bench", "orchestration"],
        ["bench", "reliability"],
        ["bench", "trace-store"],
        ["policy"],
        ["policy", "eval"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_demo_then_inspect(tmp_path: Path) -> None:
    import sqlite3

    from agents import Agent, ScriptedModel
    from orchestrator import Team

    store = tmp_path / "demo.duckdb"
    # A user's run, checkpointed where the demo's team checkpoints (beside the store).
    shared = tmp_path / "checkpoints.sqlite"
    mine = Team("mine", [Agent("a", "Say hi.", ScriptedModel(["hi"]))], checkpoints=str(shared))
    earlier = mine.run("Say hi").thread_id
    # The real offline model: the demo's updates depend on semantic similarity.
    result = runner.invoke(app, ["demo", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(shared) as db:  # the demo added its threads and kept the user's
        threads = {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert earlier in threads and len(threads) > 1
    assert "UPDATE" in result.output and "history of memory" in result.output
    # The team half: the same task family with and without insight memory.
    passes = {
        (int(part), team.strip()): (int(solved), float(steps))
        for part, team, solved, steps in re.findall(
            r"pass (\d)  (no memory|insight memory)\s+solved\s+(\d+)/12\s+([\d.]+) model steps",
            result.output,
        )
    }
    assert len(passes) == 4, result.output
    base, learned = passes[(2, "no memory")], passes[(2, "insight memory")]
    assert learned[0] > base[0] and learned[1] < base[1]
    assert "an insight the team wrote for itself" in result.output
    memory_id = re.search(r"colony memory history (\w+)", result.output)
    assert memory_id is not None
    env = {"COLONY_EMBEDDER": "minilm"}
    hist = runner.invoke(
        app, ["memory", "history", memory_id.group(1), "--store", str(store)], env=env
    )
    assert hist.exit_code == 0 and "UPDATE" in hist.output and "policy=heuristic" in hist.output
    found = runner.invoke(app, ["memory", "search", "Ana", "--store", str(store)], env=env)
    assert found.exit_code == 0 and "Ana" in found.output
    spaces = runner.invoke(app, ["memory", "namespaces", "--store", str(store)], env=env)
    assert spaces.output.split() == ["team/demo", "team/helpdesk/insights", "team/helpdesk/runs"]
    out = tmp_path / "dump.parquet"
    assert (
        runner.invoke(app, ["memory", "export", str(out), "--store", str(store)], env=env).exit_code
        == 0
    )
    copy = tmp_path / "copy.duckdb"
    imported = runner.invoke(app, ["memory", "import", str(out), "--store", str(copy)], env=env)
    assert imported.exit_code == 0 and "imported" in imported.output
    # The team half's runs are traced beside the store (on by default).
    assert f"traces: {tmp_path / 'traces.duckdb'}" in result.output
    traces = TraceStore(tmp_path / "traces.duckdb", read_only=True)
    ((runs,),) = traces.query("SELECT count(*) FROM spans WHERE operation = 'invoke_workflow'")
    traces.close()
    assert runs == 48  # 2 passes x 2 teams x 12 tasks


def test_the_demo_replaces_only_a_store_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory import SYSTEM, HashEmbedder, MemoryService

    store = tmp_path / "memory.duckdb"
    with MemoryService.open(store, embedder=HashEmbedder()) as service:
        kept = service.add("Ana's real note", principal=SYSTEM, namespace=("team", "mine"))
        service.delete(kept.id, principal=SYSTEM)  # its history is still data
    junk = tmp_path / "notes.duckdb"
    junk.write_text("not a database")
    for path, said in [
        (store, "it holds memories in team/mine; choose another --store"),
        (junk, "(not a memory store: "),
        (tmp_path, "is a folder; give a file path"),
    ]:
        code, _, err = _colony(
            ["demo", "--store", str(path), "--embedder", "hash"], capsys, monkeypatch
        )
        assert code == 2 and said in err and "Traceback" not in err, err
    assert junk.read_text() == "not a database"
    # A store an earlier demo wrote is replaced, but not before the arguments are known good.
    demo_store = tmp_path / "demo.duckdb"
    with MemoryService.open(demo_store, embedder=HashEmbedder()) as service:
        service.add("Ana moved to Porto", principal=SYSTEM, namespace=("team", "demo"))
    code, _, err = _colony(
        ["demo", "--store", str(demo_store), "--embedder", "nosuch"], capsys, monkeypatch
    )
    assert code == 2 and "unknown embedder 'nosuch'" in err
    with MemoryService.open(demo_store, embedder=HashEmbedder()) as service:
        assert service.stats()["current"] == 1
    assert not (tmp_path / "traces.duckdb").exists()  # refused before writing anything
    with MemoryService.open(store, embedder=HashEmbedder()) as service:
        assert [v.text for v in service.versions(kept.id, principal=SYSTEM)] == [
            "Ana's real note",
            "Ana's real note",
        ]


@pytest.mark.parametrize(
    "command", [["policy", "train"], ["policy", "slots"], ["policy", "synthetic"]]
)
def test_training_checks_where_it_will_write_before_it_trains(
    command: list[str], tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for out, said in [
        (tmp_path, f"{tmp_path} is a folder; give a file path"),
        (a_file / "x.npz", f"cannot write {a_file / 'x.npz'}: {a_file} is not a folder"),
    ]:
        hashed = [] if command[-1] == "synthetic" else ["--embedder", "hash"]
        result = runner.invoke(app, [*command, "--out", str(out), *hashed], env={"COLUMNS": "400"})
        flat = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # no box, no wrap
        assert result.exit_code == 2 and said in flat, result.output
    assert list(tmp_path.iterdir()) == [a_file]  # nothing trained, nothing written


def test_feedback_goes_with_resume() -> None:
    team = f"{ROOT / 'examples' / 'quickstart.py'}:team"
    result = runner.invoke(
        app, ["run", team, "--task", "x", "--feedback", "yes"], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 2
    assert "--feedback answers a run waiting for a human: give it with --resume" in result.output


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["memory", "search", "x", "--store", str(tmp_path / "none.duckdb")])
    assert result.exit_code != 0
    assert "colony demo" in result.output


@pytest.fixture
def small_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from memory import SYSTEM, HashEmbedder, MemoryService

    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    path = tmp_path / "memory.duckdb"
    with MemoryService.open(path, embedder=HashEmbedder()) as service:
        service.add("Ana lives in Lisbon", principal=SYSTEM, namespace=("team", "demo"))
    return path


def _colony(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """``colony ARGS`` in this process through the console script's entry point."""
    from orchestrator.cli import main

    monkeypatch.setattr(sys, "argv", ["colony", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    out = capsys.readouterr()
    return int(stopped.value.code or 0), out.out, " ".join(out.err.split())


def test_memory_commands_name_a_bad_file_or_namespace_without_a_traceback(
    small_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ["--store", str(small_store)]
    text = tmp_path / "notes.txt"
    text.write_text("not parquet")
    missing = tmp_path / "no" / "such.parquet"
    for args, said in [
        (["memory", "import", str(text)], f"cannot read Parquet file '{text}'"),
        (["memory", "export", str(missing)], f"cannot write Parquet file '{missing}'"),
        (["memory", "export", str(tmp_path)], f"cannot write Parquet file '{tmp_path}'"),
        (
            ["memory", "search", "Ana", "--namespace", "team//demo"],
            "namespace 'team//demo' has an empty part",
        ),
        (["memory", "search", "Ana", "--namespace", "/"], "namespace '/' has an empty part"),
        (["memory", "namespaces", "--prefix", "te am"], "invalid namespace label 'te am'"),
        (
            ["memory", "search", "Ana", "--budget-words", "0"],
            "budget_words must be an integer >= 1 or None, got 0",
        ),
    ]:
        code, _, err = _colony([*args, *store], capsys, monkeypatch)
        assert (code, err.startswith(f"colony: error: {said}")) == (2, True), (args, err)
        assert "Traceback" not in err
    code, out, _ = _colony(
        ["memory", "search", "Ana", "--namespace", "team/demo/", *store], capsys, monkeypatch
    )
    assert code == 0 and "Ana lives in Lisbon" in out  # a slash at the end is fine
    code, out, err = _colony(
        ["memory", "search", "Ana", "--namespace", "other", *store], capsys, monkeypatch
    )
    assert (code, out, err) == (0, "", "no memory matches")
    for budget, shown in (("3", ""), ("4", "Ana lives in Lisbon")):  # four words
        args = ["memory", "search", "Ana", "--k", "1", "--budget-words", budget, *store]
        code, out, _ = _colony(args, capsys, monkeypatch)
        assert code == 0 and out.rstrip().endswith(shown) and out.count("\n") == bool(shown)


def test_memory_add_update_and_delete_from_the_cli_keep_the_history(
    small_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory import SYSTEM, HashEmbedder, MemoryService

    store = ["--store", str(small_store)]

    def colony(*args: str) -> tuple[int, str, str]:
        return _colony([*args, *store], capsys, monkeypatch)

    code, out, _ = colony("memory", "add", "Bo keeps bees in Faro", "--namespace", "team/demo")
    added = re.fullmatch(r"added (\w+) \(v1\) in team/demo\n", out)
    assert code == 0 and added is not None, out
    memory_id = added.group(1)
    code, out, _ = colony("memory", "search", "bees Faro", "--k", "1")
    assert out.split()[1] == f"{memory_id}@v1" and out.rstrip().endswith("Bo keeps bees in Faro")
    said = ("memory", "update", memory_id, "Bo keeps bees in Porto")
    code, out, _ = colony(*said, "--reason", "moved the hives")
    assert (code, out) == (0, f"updated {memory_id} v1->v2\n")
    code, _, err = colony(*said, "--version", "1")  # stale: refused, nothing written
    assert code == 2 and err == (
        f"colony: error: memory '{memory_id}': expected version 1 but it is at version 2; "
        "read it again and retry the write"
    )
    code, _, err = colony("memory", "delete", memory_id, "--version", "1")
    assert code == 2 and "expected version 1 but it is at version 2" in err
    code, out, _ = colony("memory", "delete", memory_id, "--version", "2", "--reason", "sold")
    assert (code, out) == (0, f"deleted {memory_id} at v3; its history stays\n")
    code, out, err = colony("memory", "search", "bees", "--namespace", "team/demo")
    assert memory_id not in out
    code, out, _ = colony("memory", "history", memory_id)
    lines = [line.split("  ", 1)[1] for line in out.splitlines()]
    assert lines == [
        "ADD    v1        by admin:system  Bo keeps bees in Faro",
        "UPDATE v1->v2    by admin:system  Bo keeps bees in Porto  (moved the hives)",
        "DELETE v2->v3    by admin:system  Bo keeps bees in Porto  (sold)",
    ]
    for args, error in [
        (["memory", "delete", "nope"], "colony: error: no memory with id 'nope'"),
        (["memory", "update", "nope", "x"], "colony: error: no memory with id 'nope'"),
        (["memory", "add", "x", "--namespace", ""], "a memory needs a namespace"),
        (["memory", "add", "x", "--namespace", "team//demo"], "has an empty part"),
        (
            ["memory", "add", "x", "--namespace", "team/demo", "--tier", "bogus"],
            "'bogus' is not one of working, interaction, semantic, insight",
        ),
    ]:
        code, _, err = colony(*args)
        flat = " ".join(re.sub("[│╭╮╰╯─]", " ", err).split())  # the usage box, unwrapped
        assert code == 2 and error in flat, (args, err)
    with MemoryService.open(small_store, embedder=HashEmbedder()) as service:
        assert service.stats()["current"] == 1  # Ana's; nothing a refused command wrote
        versions = service.versions(memory_id, principal=SYSTEM)
    assert [v.text for v in versions] == ["Bo keeps bees in Faro", *["Bo keeps bees in Porto"] * 2]


def test_memory_erase_from_the_cli_asks_for_yes_then_keeps_nothing(
    small_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory import SYSTEM, HashEmbedder, MemoryService

    with MemoryService.open(small_store, embedder=HashEmbedder()) as service:
        old = service.add("Bo keeps bees in Faro", principal=SYSTEM, namespace=("user", "bo"))
        service.update(old.id, "Bo keeps bees in Porto", principal=SYSTEM, expected_version=1)
        service.add("Bo's hives", principal=SYSTEM, namespace=("user", "bo", "notes"))
    store = ["--store", str(small_store)]

    def colony(*args: str) -> tuple[int, str, str]:
        return _colony([*args, *store], capsys, monkeypatch)

    code, out, _ = colony("memory", "erase", "--namespace", "user/bo")
    assert (code, out) == (
        0,
        "would erase under 'user/bo': current memories 2, stored versions 3 (superseded ones "
        "included), plus the memories deleted there and all their history; run again with "
        "--yes to erase them for good\n",
    )
    assert "Bo keeps bees" in colony("memory", "search", "bees", "--namespace", "user")[1]
    for args, error in [
        (["--namespace", "user/b"], "nothing is stored under 'user/b'"),  # not a prefix match
        (["--namespace", ""], "name the namespace to erase"),
        (["--namespace", "user//bo"], "has an empty part"),
    ]:
        code, _, err = colony("memory", "erase", *args, "--yes")
        flat = " ".join(re.sub("[│╭╮╰╯─]", " ", err).split())  # the usage box, unwrapped
        assert code == 2 and error in flat, (args, err)
    code, out, _ = colony("memory", "erase", "--namespace", "user/bo/", "--yes")
    assert code == 0 and out.startswith(
        "erased 'user/bo': memories 2, versions 3, history entries 3, edges 0, tasks 0, "
        "entities 0; the store file was rewritten without them ("
    ), out
    code, out, err = colony("memory", "search", "bees hives", "--namespace", "user")
    assert (code, out, err) == (0, "", "no memory matches")
    code, _, err = colony("memory", "history", old.id)
    assert code == 2 and f"no memory with id '{old.id}'" in err
    code, out, _ = colony("memory", "namespaces")
    assert out.split() == ["team/demo"]


def test_bench_store_small(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "store",
            "--memories",
            "2000",
            "--queries",
            "20",
            "--writes",
            "10",
            "--embedder",
            "hash",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[0])
    assert set(data) >= {
        "memories",
        "ingest_per_s",
        "search_p50_ms",
        "search_p95_ms",
        "recall_vs_exact",
        "write_p95_ms",
        "erase_s",
        "open_s",
        "first_search_s",
    }
    assert data["memories"] == 2000 and data["recall_vs_exact"] >= 0.99
    assert data["erased"] == 2000 // 16  # one of the 16 namespaces, every one of its memories


def test_bench_store_on_the_turns_of_a_conversation(tmp_path: Path) -> None:
    """--texts: the memories say what a conversation's turns say; the store opened again
    finds them by their words."""
    turns = [
        "I went camping by the lake with the kids last weekend.",
        "My new job at the bakery starts on Monday!",
        "We painted a sunrise over the water; it's in the kitchen now.",
    ]
    conversation = {
        "speaker_a": "Ana",
        "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana" if i % 2 == 0 else "Ben", "dia_id": f"D1:{i + 1}", "text": text}
            for i, text in enumerate(turns)
        ],
    }
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(conversation), encoding="utf-8")
    args = ["bench", "store", "--memories", "640", "--queries", "10", "--writes", "5"]
    result = runner.invoke(app, [*args, "--embedder", "hash", "--texts", str(chat), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[0])
    assert data["texts"] == f"3 turns of {[str(chat)]}"
    assert data["recall_vs_exact"] >= 0.99 and data["erased"] == 640 // 16
    assert data["open_s"] >= 0 and data["first_search_s"] >= 0
    missing = runner.invoke(app, [*args, "--texts", str(tmp_path / "none.json"), "--json"])
    assert missing.exit_code != 0 and "none.json: no such file or folder" in str(missing.exception)
    windowed = runner.invoke(
        app, [*args, "--embedder", "hash", "--texts", str(chat), "--windows", "--json"]
    )
    assert windowed.exit_code == 0, windowed.output
    assert json.loads(windowed.stdout.splitlines()[0])["windows"] is True
    alone = runner.invoke(app, [*args, "--embedder", "hash", "--windows", "--json"])
    assert alone.exit_code != 0 and "--windows needs --texts" in str(alone.exception)


def test_the_store_bench_gives_each_memory_the_turns_around_it() -> None:
    from benchmarks.store import _table
    from memory import WINDOW_KEY

    vectors = np.zeros((4, 3), np.float32)
    table = _table(vectors, 10, ["a", "b", "c"], windows=True)
    # memory i holds turn i % 3; its window, the turns before and after it
    windows = [json.loads(m)[WINDOW_KEY] for m in table.column("metadata").to_pylist()]
    assert table.column("text").to_pylist()[0] == "memory 10: b"
    assert windows == ["a c", "b a", "c b", "a c"]
    assert "metadata" not in _table(vectors, 10, ["a", "b", "c"]).column_names


def test_bad_bench_arguments_are_clear() -> None:
    result = runner.invoke(app, ["bench", "store", "--memories", "0", "--json"])
    assert result.exit_code != 0
    assert "--memories" in str(result.exception) or "--memories" in result.output


@pytest.mark.parametrize("module", [memory, policies, agents, orchestrator, telemetry])
def test_public_names_are_exactly_all(module: ModuleType) -> None:
    exported = set(getattr(module, "__all__", ()))
    public = {name for name in dir(module) if not name.startswith("_")}  # loaded or not
    submodules = {name for name in public if isinstance(getattr(module, name), ModuleType)}
    assert exported == public - submodules
    for name in exported:  # each resolves to the object its home module defines
        value = getattr(module, name)
        home = getattr(value, "__module__", None)
        if isinstance(home, str) and home.startswith(f"{module.__name__}."):
            assert getattr(sys.modules[home], name) is value


# What ``colony --help`` and the memory commands must not import: they answer in ~0.5 s and
# ~1.5 s, against ~3.5 s when every package imported all of its modules up front.
HEAVY = ("langgraph", "langchain_core", "duckdb", "pyarrow", "networkx", "ray", "torch")


def test_the_command_line_imports_what_a_command_needs_when_it_runs(tmp_path: Path) -> None:
    assert imported_by("import orchestrator.cli").isdisjoint(HEAVY)
    assert imported_by("import memory, memory.errors, orchestrator").isdisjoint(HEAVY)
    # A memory command loads the store, not the orchestration or the models.
    store = tmp_path / "m.duckdb"
    memory.MemoryService.open(store, embedder=memory.HashEmbedder()).close()
    loaded = imported_by(
        "from orchestrator.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"where = ['--namespace', 'team/demo', '--store', {str(store)!r}]\n"
        "for args in (['add', 'Ana moved to Porto'], ['search', 'Porto']):\n"
        "    result = CliRunner().invoke(app, ['memory', *args, *where])\n"
        "    assert result.exit_code == 0, result.output\n"
        "assert 'Ana moved to Porto' in result.output, result.output"
    )
    assert {"duckdb", "pyarrow"} <= loaded
    assert loaded.isdisjoint({"langgraph", "langchain_core", "ray", "torch"})
    # Names still resolve on first use, by attribute or by import, and unknown ones fail.
    imported_by(
        "import memory, orchestrator\n"
        "from orchestrator import Team\n"
        "from memory import _duckdb_arrow, MemoryService\n"
        "assert orchestrator.Team is Team and memory.MemoryService is MemoryService\n"
        "assert 'langgraph' in sys.modules\n"
        "try:\n"
        "    memory.NoSuchName\n"
        "except AttributeError as exc:\n"
        "    assert \"'memory' has no attribute 'NoSuchName'\" in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('memory.NoSuchName resolved')"
    )


def test_corrupt_store_is_a_clean_cli_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"not a database")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from orchestrator.cli import main; main()",
            "memory",
            "search",
            "x",
            "--store",
            str(bad),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLONY_EMBEDDER": "hash"},
    )
    assert out.returncode == 2
    assert out.stderr.startswith("colony: error:") and str(bad) in out.stderr
    assert "Traceback" not in out.stderr
    assert bad.read_bytes() == b"not a database"  # nothing overwritten


TEAM_MODULE = """
from agents import Agent, ScriptedModel
from orchestrator import Team

def echo(messages):
    return "planned: " + messages[-1].content.splitlines()[0]

def agents():
    return [
        Agent("planner", "Plan.", ScriptedModel([echo] * 9)),
        Agent("writer", "Write.", ScriptedModel(["written"] * 9)),
    ]

team = Team("cli", agents(), checkpoints=CHECKPOINTS)
reviewed = Team("cli", agents(), checkpoints=CHECKPOINTS, interrupt_before=["writer"])
"""


def test_run_streams_progress_and_resumes_an_interrupted_run(tmp_path: Path) -> None:
    module = tmp_path / "my_team.py"
    checkpoints = tmp_path / "cp.sqlite"
    module.write_text(TEAM_MODULE.replace("CHECKPOINTS", repr(str(checkpoints))))
    traces = ["--traces", str(tmp_path / "traces.duckdb")]
    done = runner.invoke(app, ["run", f"{module}:team", "--task", "ship it", *traces])
    assert done.exit_code == 0, done.output
    assert "> planner is working" in done.output and "< writer: done in 1 step(s)" in done.output
    assert "written" in done.output and "succeeded" in done.output

    paused = runner.invoke(
        app, ["run", f"{module}:reviewed", "--task", "ship", "--thread-id", "r1", *traces]
    )
    assert paused.exit_code == 0, paused.output
    assert "waiting for a human before writer" in paused.output
    assert "--resume r1" in paused.output
    resumed = runner.invoke(
        app, ["run", f"{module}:reviewed", "--resume", "r1", "--feedback", "shorter", *traces]
    )
    assert resumed.exit_code == 0, resumed.output
    assert "< writer: done" in resumed.output and "written" in resumed.output

    # Every run, and the resumed one again, is a trace in the trace store.
    store = TraceStore(tmp_path / "traces.duckdb", read_only=True)
    roots = store.query(
        "SELECT run_id, attributes->>'colony.run.status', "
        "(SELECT count(*) FROM spans c WHERE c.trace_id = s.trace_id) "
        "FROM spans s WHERE operation = 'invoke_workflow' ORDER BY start_ns"
    )
    store.close()
    resumed_runs = [(run, status) for run, status, _ in roots[1:]]
    assert resumed_runs == [("r1", "interrupted"), ("r1", "done")]
    assert roots[0][1] == "done" and roots[0][2] == 5  # the root, 2 x (agent, chat)


def test_demo_and_run_write_no_traces_when_told(tmp_path: Path) -> None:
    both = runner.invoke(app, ["demo", "--traces", "x.duckdb", "--no-traces"])
    assert both.exit_code != 0 and "--no-traces" in both.output


def test_an_unusable_trace_store_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    module = tmp_path / "my_team.py"
    module.write_text(TEAM_MODULE.replace("CHECKPOINTS", repr(str(tmp_path / "cp.sqlite"))))
    broken = tmp_path / "traces.duckdb"
    broken.write_text("not a database")
    done = runner.invoke(app, ["run", f"{module}:team", "--task", "ship", "--traces", str(broken)])
    assert done.exit_code == 0, done.output
    assert "warning: no trace store at" in done.output and "succeeded" in done.output
    assert broken.read_text() == "not a database"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no_colon", "--task", "x"], "module:team"),
        (["run", "nosuchmodule_xyz:team", "--task", "x"], "cannot import"),
        (["run", "json:dumps", "--task", "x"], "not an orchestrator.Team"),
        (["run", "json:nothing", "--task", "x"], "no 'nothing'"),
    ],
)
def test_run_reports_bad_team_references(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output
