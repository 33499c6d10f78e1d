from collections.abc import Sequence

from agents import Agent, ChatResponse, Message, ToolCall, ToolSpec
from orchestrator import Sequential, Team


def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


class Offline:  # a stand-in LLM, so this runs offline: call the tools, then say the last word read
    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        role, text = messages[-1].role, messages[-1].content
        calls = tuple(ToolCall("1", t.name, {"text": text}) for t in tools if role == "user")
        return ChatResponse(Message("assistant", text.split()[-1].strip('"}]'), calls))


counter = Agent("counter", "Count the task's words with word_count.", Offline(), [word_count])
team = Team("quickstart", [counter, Agent("writer", "Report it.", Offline())], flow=Sequential())
if __name__ == "__main__":
    print(team.run("Colony runs teams of agents on Ray").output)
