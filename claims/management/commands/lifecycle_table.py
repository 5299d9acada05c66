"""Render the claim's transitions, as the state machine declares them, into docs/design.md.

The table in the design page is read from `claims.models.Claim.status` through django-fsm-2
(`get_all_status_transitions`), never typed by hand, so the page cannot drift from the rules the
code enforces: `--check` fails (and shows the difference) when they disagree, and `--write`
replaces the block between the two marker comments. Without either, the table is printed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims.models import Claim

START = "<!-- lifecycle-table:start (generated: python manage.py lifecycle_table --write) -->"
END = "<!-- lifecycle-table:end -->"

# Who each permission of a transition lets act, in the words the page uses. A permission missing
# here stops the command: a new kind of actor is a design change the page must name.
WHO = {
    "partner_manager": "partner (a managing user)",
    "reviewer": "reviewer",
    "dispute_decider": "review lead other than the reviewer who rejected",
    "review_lead": "review lead",
    "customer": "customer",
    "system": "system (beat job or workflow)",
}


def design_page() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "design.md"


def _who(permission: Any) -> str:
    name = getattr(permission, "__name__", None) if callable(permission) else permission
    if name not in WHO:
        raise CommandError(
            f"The permission {name!r} has no reader's label; add it to WHO in {Path(__file__).name}."
        )
    return WHO[name]


def _states(sources: Iterable[str]) -> str:
    sources = list(sources)
    order = list(Claim.Status.values)
    special = {"*": "any state", "+": "any other state"}
    known = sorted((s for s in sources if s in order), key=order.index)
    return ", ".join([f"`{s}`" for s in known] + [special[s] for s in sources if s in special])


def _facts(custom: dict[str, Any]) -> str:
    parts = []
    for key in sorted(custom):
        value = custom[key]
        if value is True:
            parts.append(f"`{key}`")
        elif isinstance(value, (list, tuple, set, frozenset)):
            parts.append(f"`{key}`: " + ", ".join(f"`{v}`" for v in sorted(map(str, value))))
        else:
            parts.append(f"`{key}`: `{value}`")
    return "; ".join(parts) or "—"


def _conditions(conditions: Iterable[Callable[..., bool]]) -> str:
    return ", ".join(f"`{c.__name__}`" for c in conditions) or "—"


def render_table() -> str:
    """The transitions of `Claim.status` as a Markdown table, one row per method in file order.

    django-fsm-2 keeps one `Transition` per source state; a method's rows share its permission,
    conditions and `custom` facts, so they fold into one row listing every source.
    """
    by_name: dict[str, list[Any]] = {}
    for t in Claim().get_all_status_transitions():
        by_name.setdefault(t.name, []).append(t)
    rows = [
        "| transition | from | to | who | only if | facts |",
        "|---|---|---|---|---|---|",
    ]
    for name, ts in sorted(by_name.items(), key=lambda item: item[1][0].method.__code__.co_firstlineno):
        first = ts[0]
        for t in ts[1:]:
            if (t.target, t.permission, t.conditions, t.custom) != (
                first.target,
                first.permission,
                first.conditions,
                first.custom,
            ):
                raise CommandError(f"The sources of {name!r} differ in more than their state; split its row.")
        rows.append(
            f"| `{name}` | {_states(t.source for t in ts)} | `{first.target}` | {_who(first.permission)} "
            f"| {_conditions(first.conditions)} | {_facts(first.custom)} |"
        )
    return "\n".join(rows) + "\n"


def with_table(page: str, table: str) -> str:
    """`page` with the block between the markers replaced by `table`."""
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise CommandError(f"The page needs exactly one pair of markers, {START!r} before {END!r}.")
    head, rest = page.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}{END}{tail}"


def difference(page: str, table: str) -> str:
    """A unified diff from `page` to the page with `table` in it; empty when they agree."""
    wanted = with_table(page, table)
    return "".join(
        difflib.unified_diff(
            page.splitlines(keepends=True), wanted.splitlines(keepends=True), "page", "state machine"
        )
    )


class Command(BaseCommand):
    help = "Print the claim lifecycle table from the state machine, or check or rewrite it in docs/design.md."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--write", action="store_true", help="Rewrite the table in the page.")
        mode.add_argument("--check", action="store_true", help="Fail if the page's table differs.")
        parser.add_argument("--page", type=Path, default=None, help="The page (default docs/design.md).")

    def handle(self, *args: Any, write: bool, check: bool, page: Path | None, **options: Any) -> None:
        table = render_table()
        if not (write or check):
            self.stdout.write(table, ending="")
            return
        path = page or design_page()
        text = path.read_text(encoding="utf-8")
        if check:
            diff = difference(text, table)
            if diff:
                raise CommandError(
                    f"{path} differs from the state machine; "
                    f"run `python manage.py lifecycle_table --write`.\n{diff}"
                )
            self.stdout.write(f"{path}: the lifecycle table matches the state machine.")
            return
        path.write_text(with_table(text, table), encoding="utf-8")
        self.stdout.write(f"{path}: lifecycle table written.")
