"""What `jalon` prints: Rich tables for people, `--json` for scripts (stable keys, ISO times,
ages in seconds)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

JsonOption = Annotated[bool, typer.Option("--json", help="JSON for scripts instead of tables")]

console = Console()


def print_json(value) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def age_seconds(since: str | None, now: datetime) -> int | None:
    """Whole seconds from `since` (ISO 8601, as the services reply) to `now`."""
    if since is None:
        return None
    moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    return max(0, int((now - moment).total_seconds()))


def age_text(seconds: int | None) -> str:
    """'—', '42 s', '3 min 5 s', '2 h 10 min', '3 d 4 h'."""
    if seconds is None:
        return "—"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes % 60} min"
    return f"{minutes} min {seconds % 60} s" if minutes else f"{seconds} s"


def now() -> datetime:
    return datetime.now(timezone.utc)


def table(title: str, columns: list[str], rows: list[list], numeric: tuple[int, ...] = (),
          fold: tuple[int, ...] = ()) -> Table:
    """The columns numbered in `numeric` are right-aligned (counts, ages); those in `fold`
    continue on the next lines when the terminal is narrow, the others stay on one. A
    header's "\n" puts its words on two lines (what keeps a table within 80 columns)."""
    shown = Table(title=title, title_justify="left")
    for number, name in enumerate(columns):
        shown.add_column(name, justify="right" if number in numeric else "left",
                         no_wrap=number not in fold, overflow="fold")
    for row in rows:
        shown.add_row(*(str(cell) for cell in row))
    return shown
