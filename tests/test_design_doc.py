"""docs/design.md states the lifecycle the state machine enforces: its transition table is rendered
from `Claim.status` by `manage.py lifecycle_table`, and these tests fail when the page drifts."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from claims.management.commands import lifecycle_table
from claims.models import Claim


def transitions_by_name() -> dict[str, list]:
    found: dict[str, list] = {}
    for t in Claim().get_all_status_transitions():
        found.setdefault(t.name, []).append(t)
    return found


def copy_of_the_page(tmp_path: Path) -> Path:
    page = tmp_path / "design.md"
    page.write_text(lifecycle_table.design_page().read_text(encoding="utf-8"), encoding="utf-8")
    return page


def test_the_design_page_shows_the_state_machine_as_it_is() -> None:
    call_command("lifecycle_table", "--check")


def test_every_transition_has_one_row_with_its_states_and_who() -> None:
    table = lifecycle_table.render_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(transitions_by_name())
    withdraw = next(row for row in rows if row.startswith("| `withdraw` |"))
    assert withdraw.split(" | ")[1:4] == [
        "`submitted`, `under_review`, `partner_action_required`, `approved`, `associated`",
        "`rejected`",
        "partner (a managing user)",
    ]
    reopen = next(row for row in rows if row.startswith("| `reopen` |"))
    assert "review lead other than the reviewer who rejected" in reopen


def test_a_page_that_drifted_from_the_state_machine_fails_the_check(tmp_path: Path) -> None:
    page = copy_of_the_page(tmp_path)
    text = page.read_text(encoding="utf-8")
    approve = next(line for line in text.splitlines() if line.startswith("| `approve` |"))
    # Someone "fixes" the page by hand: approve now leads straight to associated.
    page.write_text(text.replace(approve, approve.replace("`approved`", "`associated`")), encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("lifecycle_table", "--check", "--page", str(page))
    message = str(refused.value)
    assert "differs from the state machine" in message
    assert f"+{approve}" in message
    assert f"-{approve.replace('`approved`', '`associated`')}" in message


def test_a_transition_missing_from_the_page_fails_the_check(tmp_path: Path) -> None:
    page = copy_of_the_page(tmp_path)
    text = page.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `uphold_rejection` |"))
    page.write_text(text.replace(row + "\n", ""), encoding="utf-8")
    with pytest.raises(CommandError, match="uphold_rejection"):
        call_command("lifecycle_table", "--check", "--page", str(page))


def test_write_puts_the_state_machine_back_and_leaves_the_prose_alone(tmp_path: Path) -> None:
    page = copy_of_the_page(tmp_path)
    original = page.read_text(encoding="utf-8")
    start = original.index(lifecycle_table.START) + len(lifecycle_table.START)
    end = original.index(lifecycle_table.END)
    page.write_text(original[:start] + "\n| stale |\n" + original[end:], encoding="utf-8")
    call_command("lifecycle_table", "--write", "--page", str(page))
    assert page.read_text(encoding="utf-8") == original
    call_command("lifecycle_table", "--check", "--page", str(page))


def test_a_transition_fact_shows_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    for t in transitions_by_name()["resubmit"]:
        monkeypatch.setattr(t, "custom", {"takes_documents": True, "order": 3, "tags": ("b", "a")})
    row = next(line for line in lifecycle_table.render_table().splitlines() if "| `resubmit` |" in line)
    assert row.endswith("| `order`: `3`; `tags`: `a`, `b`; `takes_documents` |")


def test_an_actor_the_page_cannot_name_stops_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(lifecycle_table.WHO, "customer")
    with pytest.raises(CommandError, match="'customer' has no reader's label"):
        lifecycle_table.render_table()


def test_a_page_without_its_markers_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "design.md"
    page.write_text("# A page with no table\n", encoding="utf-8")
    with pytest.raises(CommandError, match="exactly one pair of markers"):
        call_command("lifecycle_table", "--check", "--page", str(page))
