"""One answer on the terminal: a spinner, the tokens as they come, then timings and cost."""

from __future__ import annotations

import json

from rich.console import Console
from rich.status import Status
from rich.table import Table
from rich.text import Text

from pytest_llmbench.selection import Target
from pytest_llmbench.types import Completion


class LiveAnswer:
    """`llmbench test` on a terminal: a spinner until the first token, then the tokens live."""

    def __init__(self, target: Target, console: Console) -> None:
        self.target = target
        self.console = console
        self._status: Status | None = None
        self._printed = False

    def start(self, streamed: bool) -> None:
        how = "streaming from" if streamed else "waiting for"
        self._status = self.console.status(Text(f"{how} {self.target.id} …"), spinner="dots")
        self._status.start()

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def event(self, kind: str, text: str) -> None:
        if not text or kind not in ("text", "reasoning", "refusal"):
            return
        self.stop()
        style = {"reasoning": "dim italic", "refusal": "red"}.get(kind)
        self.console.print(Text(text, style=style or ""), end="", soft_wrap=True)
        self._printed = True
        self.console.file.flush()

    def summary(self, completion: Completion) -> None:
        if not self._printed:
            self.console.print(Text(completion.refusal or completion.text), end="", soft_wrap=True)
        self.console.print()
        for call in completion.tool_calls:
            self.console.print(Text(f"tool call: {call.name}({json.dumps(call.arguments)})"))
        self.console.print()
        self.console.print(summary_table(self.target, completion))


def format_ms(value: float | None) -> str:
    """Milliseconds as `1,234.5 ms`; `-` when not measured."""
    return "-" if value is None else f"{value:,.1f} ms"


def summary_table(target: Target, completion: Completion) -> Table:
    """Usage, timings and cost of one answer."""
    metrics = completion.metrics
    usage = completion.usage
    estimated = " (estimated)" if metrics.usage_estimated else ""
    tokens = (
        f"{usage.input_tokens} in / {usage.output_tokens} out{estimated}"
        if usage is not None
        else f"{metrics.output_tokens} out{estimated}"
    )
    tps = "-" if metrics.output_tps is None else f"{metrics.output_tps:,.1f}"
    cost = "-" if metrics.cost_usd is None else f"${metrics.cost_usd:.6f}"
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    table.add_column(style="dim")
    table.add_column()
    table.add_row("model", target.id, "finish", completion.finish_reason)
    table.add_row("tokens", tokens, "cost", cost)
    table.add_row("TTFT", format_ms(metrics.ttft_ms), "ITL", format_ms(metrics.itl_ms))
    table.add_row("tokens/s", tps, "e2e", format_ms(metrics.e2e_ms))
    return table
