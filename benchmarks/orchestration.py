"""Orchestration overhead: one agent hop in-process vs on Ray, and a fan-out of many agents.

Run: ``colony bench orchestration --json`` (or ``python -m benchmarks.orchestration``); prints
one JSON object on stdout and a summary line on stderr. Checkpoints go to LangGraph's
in-memory saver (``checkpoints=":memory:"``): the figures are the orchestration path without
disk writes, except ``inprocess_hop_sqlite_ms``, the local hop with checkpoints in a SQLite
file (the default store) in a temporary directory, timed in the same rounds.

- hop: a one-agent :class:`Sequential` team whose model answers at once; one
  ``session.run(task)`` is one hop through the compiled graph. A local and a Ray session of
  the same team run in one process, and each round times a local hop, a Ray hop and a bare
  ``AgentWorker.ping`` on the Ray hop's actor, in a shuffled order, so machine drift touches
  all three alike. ``added_hop_ms`` is ``ray_hop_ms - inprocess_hop_ms`` (medians);
  ``added_hop_paired_ms`` is the median over rounds of the Ray hop minus the local hop.
- fan-out: ``fanout_agents`` agents in a :class:`Parallel` flow; each agent's model sleeps
  ``latency_s`` per call, asks for a trivial tool ``calls_per_agent - 1`` times, then answers.
  The ideal wall time is ``calls_per_agent * latency_s``. Actor start-up is timed apart
  (``fanout_startup_s``); one warm-up run precedes the ``repeats`` timed runs.

- tracing: every round also times the local and the Ray hop with tracing off and on (spans
  to a trace store in a temporary directory, as ``colony run`` writes them), each right
  after an untimed hop of the same kind, as in a run of such hops: the actor is as warm for
  both, and a traced hop finds the spans of the replies before it still to export (the
  driver exports them in batches: ``telemetry.flush_relayed``). No untraced timing carries
  a traced run's spans: the relay's inbox is emptied, untimed, before it. Each fan-out run
  is timed off and on. ``tracing_overhead_*`` is the median over rounds of on / off, minus
  1; ``*_mean`` is the mean on over the mean off, minus 1, where the batches count in full.
  The trace store is written by a thread of its own, whose batches land on whatever hop runs
  then, traced or not: ``trace_store_ms_per_span`` is that thread's CPU time per span
  written (segments, and folding them into the DuckDB file, the last ones included), and
  ``tracing_overhead_*_with_store`` adds the spans of one traced hop at that cost to the
  figure, as if the writes held up the hop that made them. ``tracing_overhead_*_runs`` times
  whole runs instead (:func:`_runs`): runs of ``hops`` hops with tracing on and off,
  alternated, a traced run ending when its spans are exported and the last fold of its
  segments charged to the traced runs, so everything tracing adds counts where it lands.
  Off, the process's tracer provider drops every span (a sampler switched per run), which
  costs a few microseconds per span more than no SDK at all; the figures are None when the
  process already has another SDK provider.

Targets (issue 3): ``added_hop_ms <= 1.3 * ray_actor_rtt_ms`` and
``fanout_wall_s <= 1.25 * fanout_ideal_s``; (issue 5) tracing overhead <= 3%.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from agents import Agent, ChatResponse, Message, ToolCall, ToolSpec, Usage
from benchmarks._main import run_as_script
from memory.errors import InvalidInputError
from orchestrator import Parallel, Sequential, Team, TeamSession
from orchestrator._runtime import RayRuntime, init_ray
from telemetry import DuckDBSpanExporter, flush_relayed, tracing
from telemetry._provider import ColonyTracerProvider

__all__ = ["EchoModel", "SleepyModel", "main", "run_orchestration", "summarize"]

HOP_TARGET = 1.3
FANOUT_TARGET = 1.25
_TASK = "Say done."
_WARMUP_HOPS = 30


class EchoModel:
    """A chat model that answers ``done`` at once (the hop's trivial model)."""

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Answer ``done``."""
        return ChatResponse(Message("assistant", "done"), Usage(1, 1))


class SleepyModel:
    """A chat model with simulated latency: it calls ``noop`` until its last call, then answers.

    The count comes from the conversation (tool replies so far), so every run makes exactly
    ``calls`` requests however many runs the agent has made before.
    """

    def __init__(self, latency_s: float, calls: int) -> None:
        self.latency_s = latency_s
        self.calls = calls

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        """Sleep ``latency_s``, then call ``noop`` or answer."""
        time.sleep(self.latency_s)
        done = sum(1 for m in messages if m.role == "tool")
        if done < self.calls - 1:
            call = ToolCall(id=f"call-{done}", name="noop")
            return ChatResponse(Message("assistant", "", tool_calls=(call,)), Usage(1, 1))
        return ChatResponse(Message("assistant", "done"), Usage(1, 1))


def noop() -> str:
    """Do nothing and say so."""
    return "ok"


def _ms(seconds: Sequence[float]) -> float:
    return round(statistics.median(seconds) * 1000, 3)


def _p95_ms(seconds: Sequence[float]) -> float:
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 3)


def _run(session: TeamSession) -> None:
    result = session.run(_TASK)
    if result.status != "done" or not result.steps:
        raise RuntimeError(f"a benchmark run did not finish: {result}")


def _ping(actor: Any) -> None:
    import ray

    ray.get(actor.ping.remote())


def _timer(
    into: list[float], call: Callable[[], object], first: Callable[[], object] | None = None
) -> Callable[[], None]:
    """A function that calls ``first()`` (untimed), times one ``call()`` and appends the
    seconds to ``into``."""

    def timer() -> None:
        if first is not None:
            first()
        start = time.perf_counter()
        call()
        into.append(time.perf_counter() - start)

    return timer


def _rounds(timers: Sequence[Callable[[], None]], rounds: int) -> None:
    """Call every timer once per round, in an order shuffled each round.

    No measurement always follows the same one: a ping right after a Ray hop would find the
    actor warmer than a ping right after a local hop.
    """
    order = list(timers)
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        shuffle(order)
        for timer in order:
            timer()


def _overhead(traced: Sequence[float], plain: Sequence[float]) -> float | None:
    """Median over rounds of traced / untraced hop, minus 1 (same round: same machine load)."""
    if not traced or not plain:
        return None
    return round(statistics.median(t / p for t, p in zip(traced, plain, strict=True)) - 1, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _mean_overhead(traced: Sequence[float], plain: Sequence[float]) -> float | None:
    """Mean traced hop over mean untraced hop, minus 1: work done for many hops at once (the
    relayed spans, exported in batches) counts here in full, where the median can miss it."""
    if not traced or not plain:
        return None
    return round(statistics.fmean(traced) / statistics.fmean(plain) - 1, 4)


def _hop_team(checkpoints: str) -> Team:
    agent = Agent("solo", "Answer.", EchoModel(), max_steps=1)
    return Team("bench-hop", [agent], flow=Sequential(), checkpoints=checkpoints)


class _Sampled(Sampler):
    """Drops every span while ``on`` is False: tracing on and off in one process, round by
    round. Off, every span is a non-recording one, as without an SDK; on (the default, also
    outside the timed runs), spans go to the trace store as in ``colony run``.
    """

    on = True

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        decision = Decision.RECORD_AND_SAMPLE if _Sampled.on else Decision.DROP
        return SamplingResult(decision, attributes if _Sampled.on else None)

    def get_description(self) -> str:
        return "colony bench: tracing on/off"


def _switchable_tracing() -> bool:
    """Install a tracer provider whose sampling the bench switches; False if this process
    already has another SDK provider (then tracing is not timed)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        return isinstance(provider.sampler, _Sampled)
    trace.set_tracer_provider(ColonyTracerProvider(sampler=_Sampled()))
    return True


def _traced(on: bool, call: Callable[[], None]) -> Callable[[], None]:
    def switched() -> None:
        _Sampled.on = on
        try:
            call()
        finally:
            _Sampled.on = True

    return switched


def _timed_traced(
    into: list[float], on: bool, call: Callable[[], None], *, primed: bool
) -> Callable[[], None]:
    """A timer of ``call()`` with tracing ``on`` or off, in the state a run of such calls
    would find it.

    The spans that Ray replies bring home are exported during the next step, while the actor
    works (``telemetry.flush_relayed``), so no call may carry spans another kind of call
    left: an untraced call is timed after the relay's inbox is emptied. ``primed``: after
    an untimed call of the same kind too, so every timed call finds the actor as warm as the
    others do, and a traced one carries its predecessor's spans as in a traced run.
    """
    switched = _traced(on, call)

    def first() -> None:
        if not on:
            flush_relayed()
        if primed:
            switched()

    return _timer(into, switched, first)


def _store_cost(
    store: DuckDBSpanExporter, sessions: dict[str, TeamSession]
) -> dict[str, float | None]:
    """The trace store's writes that tracing adds to one hop: its CPU time per span so far
    (the rounds' traced hops, their segments and folding every one of them into the file),
    times the spans one traced hop of each kind makes."""
    provider = trace.get_tracer_provider()
    provider.force_flush()  # type: ignore[attr-defined]
    store.compact()  # a run folds in what is left when it ends: that is its cost too
    per_span_ms = 1000 * store.busy_s / store.written if store.written else None
    cost: dict[str, float | None] = {"trace_store_ms_per_span": per_span_ms}
    for name in ("local", "ray"):
        if name in sessions and per_span_ms is not None:
            before = store.written
            _traced(True, functools.partial(_run, sessions[name]))()
            provider.force_flush()  # type: ignore[attr-defined]
            cost[f"{name}_spans_per_hop"] = store.written - before
            cost[f"{name}_store_ms"] = per_span_ms * (store.written - before)
    return cost


RUN_PAIRS = 4  # traced and untraced runs of each runtime's hop, alternated


def _runs(
    sessions: dict[str, TeamSession], hops: int, store: DuckDBSpanExporter
) -> dict[str, float]:
    """Tracing on against off over whole runs, the trace store's writes where they land.

    For each runtime, :data:`RUN_PAIRS` traced and as many untraced runs of ``hops`` hops
    alternate (on first, then off first, so a drift in the machine's speed touches both
    alike). A traced run ends when its spans are exported (the ones the replies brought
    home included): the segment written, and any fold it set off. After the last run the
    traced runs' segments are folded into the file, timed and charged to them, as a
    ``colony run`` folds them in when it ends. ``tracing_overhead_*_runs`` is the traced
    runs' total time over the untraced runs', minus 1.
    """
    provider = trace.get_tracer_provider()
    figures: dict[str, float] = {}
    for name, key in (("local", "inprocess"), ("ray", "ray")):
        if name not in sessions:
            continue
        session = sessions[name]

        def run(exported: bool, session: TeamSession = session) -> None:
            for _ in range(hops):
                _run(session)
            if exported:
                provider.force_flush()  # type: ignore[attr-defined]

        totals = {True: 0.0, False: 0.0}
        for pair in range(RUN_PAIRS):
            for on in (True, False) if pair % 2 == 0 else (False, True):
                if not on:
                    flush_relayed()  # nothing a traced run left is exported in this one
                start = time.perf_counter()
                _traced(on, functools.partial(run, on))()
                totals[on] += time.perf_counter() - start
        start = time.perf_counter()
        store.compact()
        totals[True] += time.perf_counter() - start
        figures[f"tracing_overhead_{key}_runs"] = round(totals[True] / totals[False] - 1, 4)
    return figures


def _hops(
    hops: int, runtime: str, traced: bool, store: DuckDBSpanExporter | None
) -> dict[str, Any]:
    times: dict[str, list[float]] = {
        "local": [],
        "sqlite": [],
        "ray": [],
        "rtt": [],
        "local_off": [],
        "local_on": [],
        "ray_off": [],
        "ray_on": [],
    }
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        sessions = {
            "local": stack.enter_context(_hop_team(":memory:").session()),
            "sqlite": stack.enter_context(
                _hop_team(os.path.join(folder, "checkpoints.sqlite")).session()
            ),
        }
        if runtime == "ray":
            sessions["ray"] = stack.enter_context(_hop_team(":memory:").session(runtime="ray"))
        # Issue 3's hops, each after whatever the shuffle put before it.
        timers = [
            _timed_traced(times[name], False, functools.partial(_run, s), primed=False)
            for name, s in sessions.items()
        ]
        if traced:  # pairs for the tracing overhead, each primed by a hop of its own kind
            timers += [
                _timed_traced(times[f"{name}_{state}"], on, functools.partial(_run, s), primed=True)
                for name, s in sessions.items()
                if name in ("local", "ray")
                for state, on in (("off", False), ("on", True))
            ]
        if runtime == "ray":
            remote = sessions["ray"].runtime
            assert isinstance(remote, RayRuntime)
            actor = remote.actors["solo"]
            ping = functools.partial(_ping, actor)
            timers.append(_timer(times["rtt"], ping))
        _rounds(timers, _WARMUP_HOPS)
        for timed in times.values():
            timed.clear()
        _rounds(timers, hops)
        store_cost = _store_cost(store, sessions) if traced and store is not None else {}
        runs = _runs(sessions, hops, store) if traced and store is not None else {}
    local, on_ray, rtt = times["local"], times["ray"], times["rtt"]
    figures: dict[str, Any] = {
        "inprocess_hop_ms": _ms(local),
        "inprocess_hop_p95_ms": _p95_ms(local),
        "inprocess_hop_sqlite_ms": _ms(times["sqlite"]),
        "inprocess_hop_traced_ms": _ms(times["local_on"]) if times["local_on"] else None,
        "tracing_overhead_inprocess": _overhead(times["local_on"], times["local_off"]),
        "tracing_overhead_ray": _overhead(times["ray_on"], times["ray_off"]),
        "tracing_overhead_inprocess_mean": _mean_overhead(times["local_on"], times["local_off"]),
        "tracing_overhead_ray_mean": _mean_overhead(times["ray_on"], times["ray_off"]),
        "trace_store_ms_per_span": _round(store_cost.get("trace_store_ms_per_span")),
    }
    for name, key in (("local", "inprocess"), ("ray", "ray")):
        figures[f"tracing_overhead_{key}_runs"] = runs.get(f"tracing_overhead_{key}_runs")
        overhead, written = figures[f"tracing_overhead_{key}"], store_cost.get(f"{name}_store_ms")
        figures[f"tracing_overhead_{key}_with_store"] = (
            None
            if overhead is None or written is None
            else round(overhead + written / (1000 * statistics.median(times[f"{name}_off"])), 4)
        )
    if runtime == "ray":
        figures["ray_hop_traced_ms"] = _ms(times["ray_on"]) if times["ray_on"] else None
    if runtime == "ray":
        figures.update(
            {
                "ray_hop_ms": _ms(on_ray),
                "ray_actor_rtt_ms": _ms(rtt),
                "added_hop_ms": round(_ms(on_ray) - _ms(local), 3),
                # Each round's own pair: steadier when the machine's load shifts.
                "added_hop_paired_ms": _ms([r - lo for r, lo in zip(on_ray, local, strict=True)]),
                "ray_hop_p95_ms": _p95_ms(on_ray),
                "ray_actor_rtt_p95_ms": _p95_ms(rtt),
            }
        )
    return figures


def _fanout(
    runtime: str, agents: int, calls: int, latency_s: float, repeats: int, traced: bool
) -> dict[str, Any]:
    model = SleepyModel(latency_s, calls)
    team = Team(
        "bench-fanout",
        [Agent(f"a{i:03d}", "Work.", model, tools=(noop,), max_steps=calls) for i in range(agents)],
        flow=Parallel(),
        checkpoints=":memory:",
    )
    walls: list[float] = []
    traced_walls: list[float] = []
    start = time.perf_counter()
    with team.session(runtime=runtime) as session:
        startup_s = time.perf_counter() - start
        _run(session)  # warm-up: first calls on fresh actors and threads
        warmup_s = time.perf_counter() - start - startup_s
        timers = [_timed_traced(walls, False, functools.partial(_run, session), primed=False)]
        if traced:
            timers.append(
                _timed_traced(traced_walls, True, functools.partial(_run, session), primed=False)
            )
        _rounds(timers, repeats)
    return {
        "fanout_wall_s": round(statistics.median(walls), 3),
        "fanout_walls_s": [round(w, 3) for w in walls],
        "fanout_traced_wall_s": round(statistics.median(traced_walls), 3) if traced else None,
        "tracing_overhead_fanout": _overhead(traced_walls, walls),
        "fanout_warmup_s": round(warmup_s, 3),
        "fanout_startup_s": round(startup_s, 2),
    }


def run_orchestration(
    *,
    hops: int = 300,
    fanout_agents: int = 64,
    calls_per_agent: int = 5,
    latency_s: float = 0.2,
    runtime: str = "ray",
    repeats: int = 3,
) -> dict[str, Any]:
    """Time a hop in-process and on Ray, and a fan-out; return the figures.

    Args:
        hops: Timed hops per runtime (after a warm-up of 30 rounds).
        fanout_agents: Agents in the fan-out.
        calls_per_agent: Model calls each fan-out agent makes.
        latency_s: Simulated latency of one model call, in seconds.
        runtime: ``ray`` times everything, starting a local Ray (and stopping it after) unless
            this process is already connected to one; ``local`` starts no Ray: the Ray
            figures are None and the fan-out runs in-process.
        repeats: Timed fan-out runs; their median is ``fanout_wall_s``.

    Returns:
        The issue's keys (``inprocess_hop_ms``, ``ray_hop_ms``, ``ray_actor_rtt_ms``,
        ``added_hop_ms``, ``fanout_agents``, ``fanout_wall_s``, ``fanout_ideal_s``), the
        ratios to compare with the targets, p95s, the hop with SQLite checkpoints, start-up
        and warm-up times, and the configuration.

    Raises:
        InvalidInputError: ``runtime`` is neither ``local`` nor ``ray``, a count is below 1,
            or ``latency_s`` is not positive.
    """
    if runtime not in ("local", "ray"):
        raise InvalidInputError(f"runtime must be 'local' or 'ray', got {runtime!r}")
    for label, value in (
        ("hops", hops),
        ("fanout_agents", fanout_agents),
        ("calls_per_agent", calls_per_agent),
        ("repeats", repeats),
    ):
        if not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{label} must be an int >= 1, got {value!r}")
    if not latency_s > 0:
        raise InvalidInputError(f"latency_s must be > 0, got {latency_s!r}")
    # The driver prints raylet warnings (such as "64 worker processes have been started") on
    # stdout, where the caller prints the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        started = init_ray(None) if runtime == "ray" else False
        traced = _switchable_tracing()
        try:
            with contextlib.ExitStack() as stack:
                store = None
                if traced:
                    # Before any session starts: Ray actors then send their spans home.
                    folder = stack.enter_context(tempfile.TemporaryDirectory())
                    exporting = stack.enter_context(
                        tracing(trace_store=os.path.join(folder, "t.duckdb"))
                    )
                    store = exporting.store_exporter if exporting is not None else None
                hop = _hops(hops, runtime, traced, store)
                fan = _fanout(runtime, fanout_agents, calls_per_agent, latency_s, repeats, traced)
        finally:
            if started:
                import ray

                ray.shutdown()
    ideal = calls_per_agent * latency_s
    rtt = hop.get("ray_actor_rtt_ms")
    added = hop.get("added_hop_ms")
    return {
        "inprocess_hop_ms": hop["inprocess_hop_ms"],
        "ray_hop_ms": hop.get("ray_hop_ms"),
        "ray_actor_rtt_ms": rtt,
        "added_hop_ms": added,
        "fanout_agents": fanout_agents,
        "fanout_wall_s": fan["fanout_wall_s"],
        "fanout_ideal_s": round(ideal, 3),
        "added_hop_over_rtt": round(added / rtt, 3) if added is not None and rtt else None,
        "added_hop_paired_ms": hop.get("added_hop_paired_ms"),
        "fanout_over_ideal": round(fan["fanout_wall_s"] / ideal, 3),
        "inprocess_hop_p95_ms": hop["inprocess_hop_p95_ms"],
        "inprocess_hop_sqlite_ms": hop["inprocess_hop_sqlite_ms"],
        "ray_hop_p95_ms": hop.get("ray_hop_p95_ms"),
        "ray_actor_rtt_p95_ms": hop.get("ray_actor_rtt_p95_ms"),
        "inprocess_hop_traced_ms": hop["inprocess_hop_traced_ms"],
        "ray_hop_traced_ms": hop.get("ray_hop_traced_ms"),
        "tracing_overhead_inprocess": hop["tracing_overhead_inprocess"],
        "tracing_overhead_ray": hop["tracing_overhead_ray"],
        "tracing_overhead_inprocess_mean": hop["tracing_overhead_inprocess_mean"],
        "tracing_overhead_ray_mean": hop["tracing_overhead_ray_mean"],
        "trace_store_ms_per_span": hop["trace_store_ms_per_span"],
        "tracing_overhead_inprocess_with_store": hop["tracing_overhead_inprocess_with_store"],
        "tracing_overhead_ray_with_store": hop["tracing_overhead_ray_with_store"],
        "tracing_overhead_inprocess_runs": hop["tracing_overhead_inprocess_runs"],
        "tracing_overhead_ray_runs": hop["tracing_overhead_ray_runs"],
        **{key: value for key, value in fan.items() if key != "fanout_wall_s"},
        "fanout_runtime": runtime,
        "calls_per_agent": calls_per_agent,
        "latency_s": latency_s,
        "hops": hops,
        "repeats": repeats,
        "checkpoints": ":memory:",
    }


def summarize(result: dict[str, Any]) -> str:
    """One human line for stderr."""
    if result["ray_hop_ms"] is None:
        hop = f"hop {result['inprocess_hop_ms']} ms in-process (no Ray)"
    else:
        hop = (
            f"hop {result['inprocess_hop_ms']} ms in-process, {result['ray_hop_ms']} ms on Ray: "
            f"+{result['added_hop_ms']} ms = {result['added_hop_over_rtt']} x the actor round "
            f"trip {result['ray_actor_rtt_ms']} ms (target <= {HOP_TARGET})"
        )
    tracing = (
        "tracing not timed (another tracer provider is installed)"
        if result["tracing_overhead_inprocess"] is None
        else "tracing overhead "
        + ", ".join(
            f"{label} {100 * result[key]:+.1f}%"
            for label, key in (
                ("in-process hop", "tracing_overhead_inprocess"),
                ("Ray hop", "tracing_overhead_ray"),
                ("Ray hop (means)", "tracing_overhead_ray_mean"),
                (
                    "in-process hop with the trace store's writes",
                    "tracing_overhead_inprocess_with_store",
                ),
                ("Ray hop with them", "tracing_overhead_ray_with_store"),
                ("in-process runs, writes included", "tracing_overhead_inprocess_runs"),
                ("Ray runs, writes included", "tracing_overhead_ray_runs"),
                ("fan-out", "tracing_overhead_fanout"),
            )
            if result.get(key) is not None
        )
    )
    return (
        f"orchestration: {hop}; {result['fanout_agents']} agents fanned out on "
        f"{result['fanout_runtime']}: {result['fanout_wall_s']} s vs ideal "
        f"{result['fanout_ideal_s']} s = {result['fanout_over_ideal']} x (target <= "
        f"{FANOUT_TARGET}), actors started in {result['fanout_startup_s']} s; checkpoints in "
        f"memory (in a SQLite file: {result['inprocess_hop_sqlite_ms']} ms in-process); "
        f"{tracing}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print JSON on stdout and a summary on stderr."""
    run_as_script(run_orchestration, summarize, __doc__, argv)


if __name__ == "__main__":
    main()
