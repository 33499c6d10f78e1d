"""A memory-heavy team: readers ingest long conversations in parallel, an analyst answers from
the shared memory and cites the turns its evidence came from.

    python examples/memory_team.py ../shared/data/locomo/ --questions 10 [--runtime ray]

Takes LoCoMo-layout files (or folders of them). Offline: the models below only decide which
tool to call; extraction, the memory policy and retrieval do the work.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from agents import Agent, AgentMemory, ChatResponse, Message, ToolCall, ToolSpec
from memory import MemoryService, RemoteMemory, RuleExtractor, load_locomo, start_memory_actor
from orchestrator import Parallel, Team, init_ray
from policies import HeuristicPolicy

TEAM = "archive"
SHARED = ("team", TEAM)


def ingest(path: str, memory: AgentMemory) -> str:
    """Read a LoCoMo-layout file and remember its facts in the team's memory.

    Args:
        path: The conversation file.
    """
    extractor, policy, decided = RuleExtractor(), HeuristicPolicy(), 0
    for conv in load_locomo(path):
        for session in conv.sessions:
            candidates = extractor.extract(session, conv.speakers, (*SHARED, conv.id))
            decided += len(memory.remember(candidates, policy=policy))
    return f"remembered {decided} candidate facts from {Path(path).name}"


def search_memory(question: str, memory: AgentMemory) -> str:
    """Find the team's memories that answer a question, with the turns they came from.

    Args:
        question: The question.
    """
    # A prompt-sized context: the best of 200 hits that fit in 300 words, as the bench measures.
    hits = memory.search(question, namespace=SHARED, k=200, budget_words=300)
    lines = [f"[{', '.join(hit.record.provenance)}] {hit.record.text}" for hit in hits]
    return "\n".join(lines) or "nothing found"


class CallThenAnswer:
    """Offline model: call ``tool`` with the task as its one argument, then report the result."""

    def __init__(self, tool: str, argument: str, *, cite: bool = False) -> None:
        self.tool, self.argument, self.cite = tool, argument, cite

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        if messages[-1].role == "tool":
            result = messages[-1].content
            return ChatResponse(Message("assistant", _answer(result) if self.cite else result))
        task = next(m.content for m in messages if m.role == "user").split("\n\n")[0]
        call = ToolCall("call-1", self.tool, {self.argument: task})
        return ChatResponse(Message("assistant", "", tool_calls=(call,)))


def _answer(evidence: str) -> str:
    """The best line of evidence, and every turn cited."""
    lines = evidence.splitlines()
    cited = sorted(
        {
            i
            for line in lines
            if line.startswith("[")
            for i in line[1:].split("]")[0].split(", ")
            if i
        }
    )
    best = lines[0].split("] ", 1)[-1] if lines else evidence
    return f"{best} (sources: {', '.join(cited) or 'none'})"


def build_teams(files: Sequence[Path], memory: MemoryService | RemoteMemory) -> tuple[Team, Team]:
    """One reader per file, fanned out in parallel; and the analyst who answers."""
    readers = [
        Agent(
            f"reader_{i}",
            "Ingest the file.",
            CallThenAnswer("ingest", "path"),
            tools=[ingest],
            writes=SHARED,
        )
        for i in range(len(files))
    ]
    split = {f"reader_{i}": str(path) for i, path in enumerate(files)}
    ingesting = Team(
        TEAM,
        readers,
        flow=Parallel(split=lambda task: list(split.items())),
        memory=memory,
        checkpoints=":memory:",
        learn=False,
    )
    analyst = Agent(
        "analyst",
        "Answer from memory, citing turns.",
        CallThenAnswer("search_memory", "question", cite=True),
        tools=[search_memory],
    )
    answering = Team(TEAM, [analyst], memory=memory, checkpoints=":memory:", learn=False)
    return ingesting, answering


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="LoCoMo-layout file or folder")
    parser.add_argument("--questions", type=int, default=10, help="questions to answer per file")
    parser.add_argument("--runtime", choices=["local", "ray"], default="local")
    parser.add_argument("--store", type=Path, help="memory file (default: a temporary one)")
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*.json")) if args.data.is_dir() else [args.data]
    if not files:
        parser.error(f"no LoCoMo files at {args.data}")
    store = args.store or Path(tempfile.mkdtemp(prefix="colony-")) / "memory.duckdb"
    started_ray = False
    if args.runtime == "ray":
        started_ray = init_ray(None)
        memory: MemoryService | RemoteMemory = start_memory_actor(store)
    else:
        memory = MemoryService.open(store)
    try:
        ingesting, answering = build_teams(files, memory)
        with ingesting.session(runtime=args.runtime) as session:
            for step in session.run("ingest every file").steps:
                print(f"{step.agent}: {step.output}")
        found = asked = 0
        with answering.session(runtime=args.runtime) as session:
            for conv in load_locomo(files):
                for q in [q for q in conv.questions if q.answer is not None][: args.questions]:
                    answer = session.run(q.question).output
                    cited = set(answer.rsplit("(sources: ", 1)[-1].rstrip(")").split(", "))
                    hit = bool(cited & set(q.evidence))
                    found, asked = found + hit, asked + 1
                    print(
                        f"Q: {q.question}\n   A: {answer}\n   gold evidence {', '.join(q.evidence)}"
                        f" {'cited' if hit else 'missed'}"
                    )
        print(f"cited gold evidence for {found}/{asked} questions; memory at {store}")
    finally:
        if isinstance(memory, MemoryService):
            memory.close()
        else:
            import ray

            ray.kill(memory.handle)
            if started_ray:
                ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
