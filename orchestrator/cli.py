"""The ``colony`` command line.

Every command has ``--help``. Benchmarks print JSON on stdout and a human summary on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from memory._slots import SlotModel
from memory.errors import ColonyError

app = typer.Typer(
    name="colony",
    help="Colony: agent teams on Ray + LangGraph with shared hierarchical memory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Reproducible benchmarks (JSON on stdout).", no_args_is_help=True)
memory_app = typer.Typer(help="Inspect and edit a memory store.", no_args_is_help=True)
policy_app = typer.Typer(
    help="Memory-manager policies: train and evaluate them.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
app.add_typer(memory_app, name="memory")
app.add_typer(policy_app, name="policy")

POLICY_HELP = (
    "Memory policy: add-all, heuristic, llm (model from COLONY_OPENAI_BASE_URL, OPENAI_API_KEY, "
    "COLONY_MODEL), learned, or a checkpoint file of the learned policy"
)

DEFAULT_STORE = Path(".colony") / "memory.duckdb"


def _store_path(store: Path | None) -> Path:
    """Explicit option, then COLONY_STORE, then ./.colony/memory.duckdb."""
    if store is not None:
        return store
    return Path(os.environ.get("COLONY_STORE", DEFAULT_STORE))


def _output(path: Path, option: str = "--out") -> Path:
    """``path``, once it is known to be writable: a command checks where its result goes
    before the work (training takes minutes), not after it."""
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give a file path", param_hint=option)
    if path.parent.exists() and not path.parent.is_dir():
        raise typer.BadParameter(
            f"cannot write {path}: {path.parent} is not a folder", param_hint=option
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}."):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise typer.BadParameter(f"cannot write {path}: {reason}", param_hint=option) from exc
    return path


TracesOption = Annotated[
    Path | None,
    typer.Option(help="Trace store (DuckDB) to write [default: traces.duckdb beside the store]"),
]
StoreOption = Annotated[Path | None, typer.Option(help="Memory store file")]
NoTracesOption = Annotated[bool, typer.Option("--no-traces", help="Write no trace store")]
OtlpOption = Annotated[
    str | None,
    typer.Option(
        help="Also send traces and metrics over OTLP/HTTP to this base URL, e.g. "
        "http://127.0.0.1:6006 [default: the OTEL_EXPORTER_OTLP_* variables]"
    ),
]


def _trace_path(traces: Path | None, off: bool, store: Path) -> Path | None:
    """The trace store to write: explicit, else ``traces.duckdb`` beside the memory store."""
    if off:
        if traces is not None:
            raise typer.BadParameter("give --traces or --no-traces, not both")
        return None
    return traces if traces is not None else store.with_name("traces.duckdb")


def _warn(exporting: Any) -> None:
    for problem in exporting.problems if exporting is not None else ():
        typer.echo(f"colony: warning: {problem}; the run goes on without it", err=True)


def _emit(result: dict[str, Any], as_json: bool, summary: str) -> None:
    if as_json:
        typer.echo(json.dumps(result))
    typer.echo(summary, err=True)
    if not as_json:
        typer.echo(json.dumps(result, indent=2))


@bench_app.command("locomo")
def bench_locomo(
    data: Annotated[
        list[Path], typer.Option("--data", help="LoCoMo-layout file(s) or folder(s); repeatable")
    ],
    budget_words: Annotated[int, typer.Option(help="Context budget in words")] = 300,
    policy: Annotated[str, typer.Option(help=POLICY_HELP)] = "heuristic",
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Run plain retrieval over raw turns instead of ours: bm25-turns, hybrid-turns"
        ),
    ] = None,
    compare: Annotated[
        str,
        typer.Option(
            help="Plain retrieval run after ours and printed beside it (under "
            '"baseline"): hybrid-turns, bm25-turns, or none'
        ),
    ] = "hybrid-turns",
    embedder: Annotated[str | None, typer.Option(help="minilm (default) or hash")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Evidence recall on LoCoMo conversations within a word budget, beside a baseline."""
    from benchmarks.locomo import run_locomo, summarize
    from orchestrator._policy_cli import cli_policies
    from policies import scoped_policies

    with scoped_policies(cli_policies(policy)):
        result = run_locomo(
            data,
            budget_words=budget_words,
            policy=policy,
            baseline=baseline,
            embedder=embedder,
            compare=None if compare == "none" else compare,
        )
    _emit(result, as_json, summarize(result))


@policy_app.command("eval")
def policy_eval(
    data: Annotated[
        list[Path],
        typer.Option("--data", help="LoCoMo-layout file(s) or folder(s); repeatable"),
    ],
    more_data: Annotated[
        list[Path] | None,
        typer.Argument(help="More data paths (so `--data A B` reads both)", show_default=False),
    ] = None,
    policy: Annotated[str, typer.Option(help=POLICY_HELP)] = "heuristic",
    budget_words: Annotated[int, typer.Option(help="Context budget in words")] = 300,
    embedder: Annotated[str | None, typer.Option(help="minilm (default) or hash")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Recall, memory size, decision counts and decision latency of a memory policy."""
    from benchmarks.policy_eval import evaluate_policy, summarize
    from orchestrator._policy_cli import cli_policies
    from policies import scoped_policies

    with scoped_policies(cli_policies(policy)):
        result = evaluate_policy(
            [*data, *(more_data or [])], policy, budget_words=budget_words, embedder=embedder
        )
    _emit(result, as_json, summarize(result))


@policy_app.command("train")
def policy_train(
    out: Annotated[Path, typer.Option(help="Checkpoint to write (.npz)")],
    seed: Annotated[int, typer.Option(help="Seed (the same seed gives the same checkpoint)")] = 1,
    address: Annotated[str | None, typer.Option(help="Ray cluster for the rollouts")] = None,
    locomo: Annotated[
        list[Path] | None, typer.Option(help="LoCoMo training file(s), e.g. conv-26.json")
    ] = None,
    synthetic: Annotated[int, typer.Option(help="Synthetic training conversations")] = 16,
    imitation: Annotated[
        int, typer.Option(help="Iterations imitating the heuristic policy first")
    ] = 10,
    iterations: Annotated[int, typer.Option(help="PPO iterations")] = 30,
    workers: Annotated[int, typer.Option(help="Rollout actors")] = 2,
    episodes: Annotated[int, typer.Option(help="Episodes per actor per iteration")] = 2,
    budget_words: Annotated[
        int, typer.Option(help="Recall budget in the reward (synthetic conversations)")
    ] = 30,
    locomo_budget_words: Annotated[
        int | None, typer.Option(help="Recall budget for the LoCoMo files (default: as above)")
    ] = None,
    embedder: Annotated[str, typer.Option(help="hash (fast) or minilm (as deployed)")] = "hash",
    learning_rate: Annotated[float, typer.Option(help="Adam learning rate")] = 3e-3,
    teacher_coef: Annotated[
        float, typer.Option(help="Weight of the heuristic's actions in the PPO loss (0: off)")
    ] = 0.0,
    mentions: Annotated[
        float,
        typer.Option(help="Chance a slot's value comes up again unchanged (synthetic, 0-1)"),
    ] = 0.0,
) -> None:
    """Train the learned memory manager with PPO (rollouts in Ray actors); writes curves too."""
    _output(out)
    from orchestrator._runtime import init_ray
    from policies._ppo import PPOArgs
    from policies._training import train_policy

    started = init_ray(address)
    import ray

    try:
        train_policy(
            out,
            seed=seed,
            locomo=locomo or [],
            synthetic=synthetic,
            budget_words=budget_words,
            locomo_budget_words=locomo_budget_words,
            embedder=embedder,
            mentions=mentions,
            args=PPOArgs(
                seed=seed,
                imitation_iterations=imitation,
                iterations=iterations,
                workers=workers,
                episodes_per_worker=episodes,
                learning_rate=learning_rate,
                teacher_coef=teacher_coef,
            ),
            log=lambda line: typer.echo(line, err=True),
        )
    finally:
        if started:
            ray.shutdown()


@policy_app.command("slots")
def policy_slots(
    out: Annotated[Path, typer.Option(help="Slot model to write (.npz)")],
    seed: Annotated[int, typer.Option(help="Seed of the synthetic training conversations")] = 1,
    conversations: Annotated[int, typer.Option(help="Synthetic training conversations")] = 120,
    locomo: Annotated[
        list[Path] | None,
        typer.Option(help="LoCoMo file(s) whose slot-free turns teach the 'none' class"),
    ] = None,
    embedder: Annotated[str, typer.Option(help="minilm (as deployed) or hash")] = "minilm",
    statement_phrasing: Annotated[
        str,
        typer.Option(help="The statement head's wordings: train-wide (seven, as shipped) or train"),
    ] = "train-wide",
    statement_threshold: Annotated[
        float,
        typer.Option(help="Least probability of a statement's likeliest slot to tag it with"),
    ] = SlotModel.statement_threshold,
) -> None:
    """Train the slot tagger (which slot a statement sets or a question asks, distractors).

    To ship it for an embedder, write it to memory/models/slots-<embedder name>.npz.
    """
    from memory import default_embedder, load_locomo
    from policies._slot_training import train_slot_model

    _output(out)
    model = train_slot_model(
        default_embedder(embedder),
        seed=seed,
        conversations=conversations,
        negatives=load_locomo(list(locomo)) if locomo else (),
        statement_phrasing=statement_phrasing,
        statement_threshold=statement_threshold,
    )
    model.save(out)
    typer.echo(f"wrote {out}: {json.dumps(model.meta)}", err=True)


@policy_app.command("synthetic")
def policy_synthetic(
    out: Annotated[Path, typer.Option(help="LoCoMo-layout JSON file to write")],
    conversations: Annotated[int, typer.Option(help="How many conversations")] = 5,
    seed: Annotated[
        int, typer.Option(help="Seed; training refuses 90001-90010, kept for evaluation")
    ] = 90_005,
    phrasing: Annotated[
        str,
        typer.Option(help="Template set: train, train-wide, heldout, heldout2 or heldout3"),
    ] = "heldout3",
    mentions: Annotated[
        float, typer.Option(help="Chance a slot's value comes up again unchanged (0-1)")
    ] = 0.0,
) -> None:
    """Write synthetic knowledge-update conversations, with their turns' labels, for eval.

    Feed the file to `colony policy eval --data` or `colony bench locomo --data`.
    """
    from policies import write_synthetic

    path = write_synthetic(_output(out), conversations, seed, phrasing=phrasing, mentions=mentions)
    typer.echo(f"wrote {conversations} {phrasing} conversations of seed {seed} to {path}", err=True)


@bench_app.command("store")
def bench_store(
    memories: Annotated[int, typer.Option(help="How many synthetic memories")] = 100_000,
    dim: Annotated[int, typer.Option(help="Vector dimension")] = 384,
    queries: Annotated[int, typer.Option(help="Search queries to time")] = 200,
    writes: Annotated[int, typer.Option(help="Single writes to time")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    embedder: Annotated[str | None, typer.Option(help="Embedder for the write test")] = None,
    texts: Annotated[
        list[Path] | None,
        typer.Option(help="LoCoMo-layout files or folders whose turns are the memories' texts"),
    ] = None,
    windows: Annotated[
        bool,
        typer.Option(
            "--windows",
            help="With --texts: each memory carries the turns around it, as extracted ones do",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Store throughput and latency on synthetic records with random unit vectors."""
    from benchmarks.store import run_store_bench, summarize

    result = run_store_bench(
        memories=memories,
        dim=dim,
        queries=queries,
        writes=writes,
        seed=seed,
        embedder=embedder,
        texts=texts or (),
        windows=windows,
    )
    _emit(result, as_json, summarize(result))


def _open_service(store: Path | None) -> Any:
    from memory import MemoryService

    path = _store_path(store)
    if not path.exists():
        raise typer.BadParameter(
            f"no memory store at {path}; run `colony demo` first", param_hint="--store"
        )
    return MemoryService.open(path)


def _parse_ns(namespace: str) -> tuple[str, ...]:
    """``team/demo`` as ``("team", "demo")`` (a slash at either end is allowed); empty:
    every namespace. An empty part ("team//demo", "/") is refused, not read as a shorter
    prefix, which would widen the command to namespaces the user did not name."""
    from memory import validate_namespace
    from memory.errors import InvalidNamespaceError

    if not namespace:
        return ()
    parts = tuple(namespace.strip("/").split("/"))
    if "" in parts:
        raise InvalidNamespaceError(
            f"namespace {namespace!r} has an empty part; write it as labels between slashes, "
            "such as team/demo"
        )
    return validate_namespace(parts)


@memory_app.command("search")
def memory_search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    store: StoreOption = None,
    namespace: Annotated[str, typer.Option(help="Namespace prefix, e.g. team/demo")] = "",
    k: Annotated[int, typer.Option(help="How many results")] = 10,
    budget_words: Annotated[
        int | None,
        typer.Option(help="Print only the best of the k hits that fit in this many words"),
    ] = None,
) -> None:
    """Hybrid search (as admin) and print the hits."""
    from memory import SYSTEM

    prefix = _parse_ns(namespace)
    with _open_service(store) as service:
        hits = service.search(
            query, principal=SYSTEM, namespace_prefix=prefix, k=k, budget_words=budget_words
        )
    for hit in hits:
        r = hit.record
        typer.echo(f"{hit.score:.4f}  {r.id}@v{r.version}  {'/'.join(r.namespace)}  {r.text}")
    if not hits:
        typer.echo("no memory matches", err=True)


@memory_app.command("namespaces")
def memory_namespaces(
    store: StoreOption = None,
    prefix: Annotated[str, typer.Option(help="Namespace prefix")] = "",
) -> None:
    """List namespaces."""
    from memory import SYSTEM

    with _open_service(store) as service:
        for ns in service.list_namespaces(principal=SYSTEM, prefix=_parse_ns(prefix), limit=10_000):
            typer.echo("/".join(ns))


@memory_app.command("history")
def memory_history(
    memory_id: Annotated[str, typer.Argument(help="Memory id")],
    store: StoreOption = None,
) -> None:
    """Print a memory's change log (who, when, which policy, confidence)."""
    from memory import SYSTEM

    with _open_service(store) as service:
        for h in service.history(memory_id, principal=SYSTEM):
            conf = "" if h.confidence is None else f" conf={h.confidence:.2f}"
            pol = "" if h.policy is None else f" policy={h.policy}"
            why = f"  ({h.reason})" if h.reason else ""
            versions = f"v{h.new_version}"
            if h.old_version is not None:
                versions = f"v{h.old_version}->{versions}"
            typer.echo(
                f"{h.at.isoformat()}  {h.operation.value:<6} {versions:<8}"
                f"  by {h.actor}{pol}{conf}  {h.new_text or h.old_text}{why}"
            )


@memory_app.command("check")
def memory_check(
    store: StoreOption = None,
) -> None:
    """Check the store's integrity: versions, history, search index (exit 1 on a problem)."""
    from memory import SYSTEM

    with _open_service(store) as service:
        problems = service.check_integrity(principal=SYSTEM)
        stats = service.stats()
    for problem in problems:
        typer.echo(f"problem: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: {stats['current']} memories, {stats['versions']} versions indexed")


@memory_app.command("quarantine")
def memory_quarantine(
    store: StoreOption = None,
    namespace: Annotated[str, typer.Option(help="Namespace prefix, e.g. team/demo")] = "",
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 100,
) -> None:
    """List memories held in quarantine (prompt injections, contradictions of trusted ones)."""
    from memory import SYSTEM

    with _open_service(store) as service:
        held = service.quarantined(
            principal=SYSTEM, namespace_prefix=_parse_ns(namespace), limit=limit
        )
    for r in held:
        origin = r.metadata.get("origin", "?")
        typer.echo(
            f"{r.id}@v{r.version}  {'/'.join(r.namespace)}  by {r.author} ({origin}, trust "
            f"{r.trust:.2f})  why: {r.metadata['quarantine']}\n    {r.text}"
        )
    typer.echo(f"{len(held)} in quarantine", err=True)


@memory_app.command("release")
def memory_release(
    memory_id: Annotated[str, typer.Argument(help="Id of a memory in quarantine")],
    store: StoreOption = None,
    reason: Annotated[str, typer.Option(help="Why it is safe, for its history")] = "",
) -> None:
    """Take a memory out of quarantine (as admin); `colony memory quarantine` lists them."""
    from memory import SYSTEM

    with _open_service(store) as service:
        released = service.release(memory_id, principal=SYSTEM, reason=reason)
    typer.echo(f"released {released.id} (now v{released.version})")


@memory_app.command("add")
def memory_add(
    text: Annotated[str, typer.Argument(help="What to remember")],
    namespace: Annotated[str, typer.Option(help="Where, e.g. team/demo")],
    store: StoreOption = None,
    tier: Annotated[str, typer.Option(help="working, interaction, semantic or insight")] = (
        "semantic"
    ),
) -> None:
    """Add a memory as it is (as admin, no policy)."""
    from memory import SYSTEM

    where = _parse_ns(namespace)
    if not where:
        raise typer.BadParameter(
            "a memory needs a namespace, such as team/demo", param_hint="--namespace"
        )
    with _open_service(store) as service:
        added = service.add(text, principal=SYSTEM, namespace=where, tier=tier)
    typer.echo(f"added {added.id} (v1) in {'/'.join(added.namespace)}")


VersionOption = Annotated[
    int | None,
    typer.Option(help="Fail unless the memory is still at this version (compare and set)"),
]
ReasonOption = Annotated[str, typer.Option(help="Why, for its history")]


@memory_app.command("update")
def memory_update(
    memory_id: Annotated[str, typer.Argument(help="Memory id")],
    text: Annotated[str, typer.Argument(help="Its new text")],
    version: VersionOption = None,
    store: StoreOption = None,
    reason: ReasonOption = "",
) -> None:
    """Write a new version of a memory (as admin); the old one stays in its history."""
    from memory import SYSTEM, ChangeInfo

    info = ChangeInfo(actor=SYSTEM.id, reason=reason or "colony memory update")
    with _open_service(store) as service:
        expected = version
        if expected is None:
            expected = service.get(memory_id, principal=SYSTEM).version
        new = service.update(
            memory_id, text, principal=SYSTEM, expected_version=expected, info=info
        )
    typer.echo(f"updated {new.id} v{expected}->v{new.version}")


@memory_app.command("delete")
def memory_delete(
    memory_id: Annotated[str, typer.Argument(help="Memory id")],
    version: VersionOption = None,
    store: StoreOption = None,
    reason: ReasonOption = "",
) -> None:
    """Delete a memory (as admin): searches no longer find it; its versions stay in its
    history (`colony memory history`)."""
    from memory import SYSTEM, ChangeInfo

    info = ChangeInfo(actor=SYSTEM.id, reason=reason or "colony memory delete")
    with _open_service(store) as service:
        gone = service.delete(memory_id, principal=SYSTEM, expected_version=version, info=info)
    typer.echo(f"deleted {gone.id} at v{gone.version}; its history stays")


@memory_app.command("erase")
def memory_erase(
    namespace: Annotated[
        str, typer.Option(help="The namespace to erase, with all below it, e.g. user/ana")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Erase; without it, only say what would go")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Erase a namespace for good (as admin): every version of its memories, their history,
    its tasks and edges go from the store file and the search index. Unlike `delete`,
    nothing stays to be read, and it cannot be undone."""
    from memory import SYSTEM, Filter

    where = _parse_ns(namespace)
    if not where:
        raise typer.BadParameter(
            "name the namespace to erase (erasing every namespace takes naming each)",
            param_hint="--namespace",
        )
    named = "/".join(where)
    with _open_service(store) as service:
        if not service.store.list_namespaces(where, limit=1):
            raise typer.BadParameter(
                f"nothing is stored under {named!r} in {_store_path(store)}; nothing to erase "
                "(`colony memory namespaces` lists what is)",
                param_hint="--namespace",
            )
        if not yes:
            current = service.store.count(Filter(namespace_prefix=where))
            stored = service.store.count(Filter(namespace_prefix=where, include_superseded=True))
            typer.echo(
                f"would erase under {named!r}: current memories {current}, stored versions "
                f"{stored} (superseded ones included), plus the memories deleted there and "
                "all their history; run again with --yes to erase them for good"
            )
            return
        erased = service.erase(where, principal=SYSTEM)
    how = "the store file was rewritten without them" if erased.rewritten else "in memory"
    typer.echo(
        f"erased {named!r}: memories {erased.memories}, versions {erased.versions}, "
        f"history entries {erased.history}, edges {erased.edges}, tasks {erased.tasks}, "
        f"entities {erased.entities}; {how} ({erased.seconds:.2f} s)"
    )


@memory_app.command("export")
def memory_export(
    out: Annotated[Path, typer.Argument(help="Parquet file to write")],
    store: StoreOption = None,
    namespace: Annotated[str, typer.Option(help="Namespace prefix")] = "",
) -> None:
    """Export memories to Parquet."""
    from memory import SYSTEM

    with _open_service(store) as service:
        n = service.export_parquet(out, principal=SYSTEM, namespace_prefix=_parse_ns(namespace))
    typer.echo(f"wrote {n} memories to {out}")


@memory_app.command("import")
def memory_import(
    source: Annotated[Path, typer.Argument(help="Parquet file from `colony memory export`")],
    store: StoreOption = None,
) -> None:
    """Import memories from Parquet."""
    from memory import SYSTEM, MemoryService

    path = _store_path(store)
    with MemoryService.open(path) as service:
        n = service.import_parquet(source, principal=SYSTEM)
    typer.echo(f"imported {n} memories into {path}")


@bench_app.command("dashboard")
def bench_dashboard(
    runs: Annotated[int, typer.Option(help="Runs in the generated trace store")] = 10_000,
    spans_per_run: Annotated[int, typer.Option(help="Spans per run")] = 100,
    repeats: Annotated[int, typer.Option(help="Renders of each page (median)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Dashboard pages on a generated trace store of 10,000 runs and 1,000,000 spans."""
    from benchmarks.dashboard import run_dashboard, summarize

    result = run_dashboard(runs=runs, spans_per_run=spans_per_run, repeats=repeats)
    _emit(result, as_json, summarize(result))


@bench_app.command("trace-store")
def bench_trace_store(
    batch: Annotated[int, typer.Option(help="Spans per exported batch")] = 1000,
    batches: Annotated[int, typer.Option(help="Batches per store")] = 40,
    repeats: Annotated[int, typer.Option(help="Stores written each way (median)")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """The trace store's writer: CPU per span with segments, against a file write per batch."""
    from benchmarks.trace_store import run_trace_store, summarize

    result = run_trace_store(batch=batch, batches=batches, repeats=repeats)
    _emit(result, as_json, summarize(result))


@bench_app.command("reliability")
def bench_reliability(
    writers: Annotated[int, typer.Option(help="Concurrent writers on shared memories")] = 16,
    bumps: Annotated[int, typer.Option(help="Updates each writer makes")] = 50,
    fuzz_cases: Annotated[int, typer.Option(help="Generated bad-input cases")] = 10_000,
    soak_runs: Annotated[int, typer.Option(help="Team runs in the soak")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """A memory actor killed under streaming writes, lost updates under concurrent writers,
    access control over every principal, namespace and operation, generated bad input and a
    soak, and memory poisoning with and without the trust guard (issue 6)."""
    from benchmarks.reliability import run_reliability, summarize

    result = run_reliability(
        writers=writers, bumps=bumps, fuzz_cases=fuzz_cases, soak_runs=soak_runs
    )
    _emit(result, as_json, summarize(result))


@bench_app.command("orchestration")
def bench_orchestration(
    hops: Annotated[int, typer.Option(help="Timed single-agent runs per runtime")] = 300,
    fanout_agents: Annotated[int, typer.Option(help="Agents in the fan-out")] = 64,
    calls_per_agent: Annotated[int, typer.Option(help="Model calls per fan-out agent")] = 5,
    latency_s: Annotated[float, typer.Option(help="Simulated model latency (s)")] = 0.2,
    runtime: Annotated[str, typer.Option(help="Runtime of the fan-out: ray or local")] = "ray",
    repeats: Annotated[int, typer.Option(help="Fan-out runs (median)")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Per-hop overhead of the graph (in-process vs Ray) and a 64-agent fan-out."""
    from benchmarks.orchestration import run_orchestration, summarize

    result = run_orchestration(
        hops=hops,
        fanout_agents=fanout_agents,
        calls_per_agent=calls_per_agent,
        latency_s=latency_s,
        runtime=runtime,
        repeats=repeats,
    )
    _emit(result, as_json, summarize(result))


@app.command("run")
def run(
    team_ref: Annotated[str, typer.Argument(help="module:team or path/to/file.py:team")],
    task: Annotated[str | None, typer.Option(help="The task for the team")] = None,
    runtime: Annotated[str, typer.Option(help="local (in-process) or ray")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address to join")] = None,
    thread_id: Annotated[str | None, typer.Option(help="Checkpoint thread of the run")] = None,
    resume: Annotated[
        str | None, typer.Option(help="Resume this thread (after a crash or an interrupt)")
    ] = None,
    feedback: Annotated[str | None, typer.Option(help="Answer to a pending interrupt")] = None,
    traces: TracesOption = None,
    no_traces: NoTracesOption = False,
    otlp_endpoint: OtlpOption = None,
) -> None:
    """Run a team on a task with live progress (or resume a run)."""
    from orchestrator._load import load_team
    from orchestrator._team import AgentFinished, AgentStarted, RunResult
    from telemetry import tracing

    if (task is None) == (resume is None):
        raise typer.BadParameter("give either --task or --resume THREAD_ID", param_hint="--task")
    if feedback is not None and resume is None:
        raise typer.BadParameter(
            "--feedback answers a run waiting for a human: give it with --resume THREAD_ID",
            param_hint="--feedback",
        )
    team = load_team(team_ref, for_ray=runtime == "ray")
    typer.echo(
        f"team {team.name}: {', '.join(team.agent_names)} on the {runtime} runtime", err=True
    )
    trace_store = _trace_path(traces, no_traces, _store_path(None))
    with (
        tracing(trace_store=trace_store, otlp=otlp_endpoint) as exporting,
        team.session(runtime=runtime, address=address) as session,
    ):
        _warn(exporting)
        events = (
            session.stream(task, thread_id=thread_id)
            if task is not None
            else session.stream_resume(str(resume), feedback)
        )
        result: RunResult | None = None
        for event in events:
            if isinstance(event, AgentStarted):
                typer.echo(f"  > {event.agent} is working", err=True)
            elif isinstance(event, AgentFinished):
                s = event.step
                typer.echo(
                    f"  < {s.agent}: {s.status} in {s.steps} step(s), {s.tool_calls} tool "
                    f"call(s), {s.total_tokens} tokens",
                    err=True,
                )
            else:
                result = event
    assert result is not None
    if result.status == "interrupted":
        for pending in result.interrupts:
            typer.echo(f"waiting for a human before {pending.get('agent')}: {pending}", err=True)
        typer.echo(
            f'resume with: colony run {team_ref} --resume {result.thread_id} --feedback "..."',
            err=True,
        )
        return
    typer.echo(result.output)
    verdict = {True: "succeeded", False: "failed", None: "unjudged"}[result.success]
    typer.echo(
        f"run {result.thread_id} {verdict}: {len(result.steps)} agent step(s), "
        f"{result.model_steps} model call(s), {result.total_tokens} tokens, "
        f"{result.wall_s:.2f} s",
        err=True,
    )


@app.command("demo")
def demo(
    store: Annotated[Path | None, typer.Option(help="Where to write the memory store")] = None,
    embedder: Annotated[str | None, typer.Option(help="minilm (default) or hash")] = None,
    traces: TracesOption = None,
    no_traces: NoTracesOption = False,
    otlp_endpoint: OtlpOption = None,
) -> None:
    """Run an offline team and memory demonstration and say where to look next."""
    from memory import default_embedder
    from orchestrator._demo import clear_previous_demo, run_demo
    from telemetry import tracing

    path = _store_path(store)
    default_embedder(embedder)  # an unknown name fails here, before the old store goes
    clear_previous_demo(path)  # before anything is written beside it
    trace_store = _trace_path(traces, no_traces, path)
    with tracing(trace_store=trace_store, otlp=otlp_endpoint) as exporting:
        _warn(exporting)
        run_demo(path, embedder=embedder, echo=typer.echo)
    if exporting is not None and exporting.trace_store is not None:
        typer.echo(f"traces: {exporting.trace_store}")


@app.command("dashboard")
def dashboard(
    store: Annotated[Path | None, typer.Option(help="The memory store to show")] = None,
    traces: Annotated[
        Path | None, typer.Option(help="The trace store [default: traces.duckdb beside --store]")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one)")] = 8765,
    embedder: Annotated[str | None, typer.Option(help="minilm (default) or hash")] = None,
) -> None:
    """Serve the dashboard (runs, span trees, memory, graph, policy) on 127.0.0.1."""
    from memory import MemoryService, default_embedder
    from memory._duckdb import DuckDBStore
    from orchestrator._dashboard import Dashboard, serve

    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"a port is 0-65535, got {port}", param_hint="--port")
    path = _store_path(store)
    trace_path = traces if traces is not None else path.with_name("traces.duckdb")
    if not path.exists() and not trace_path.exists():
        raise typer.BadParameter(
            f"no memory store at {path} and no trace store at {trace_path}; "
            "run `colony demo` first",
            param_hint="--store",
        )
    memory = (
        MemoryService(
            DuckDBStore.from_path(path, read_only=True), embedder=default_embedder(embedder)
        )
        if path.exists()
        else None
    )
    try:
        server = serve(Dashboard(trace_path, memory), port=port)
    except OSError as exc:  # the port is taken, or not ours to take
        if memory is not None:
            memory.close()
        raise typer.BadParameter(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; "
            "choose another port, or --port 0 for any free one",
            param_hint="--port",
        ) from exc
    bound = server.server_address[1]
    typer.echo(f"Colony dashboard on http://127.0.0.1:{bound}/ (Ctrl-C stops it)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        if memory is not None:
            memory.close()


def main() -> None:
    """Entry point of the ``colony`` console script: ColonyErrors become clean messages."""
    try:
        app()
    except ColonyError as exc:
        typer.echo(f"colony: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
