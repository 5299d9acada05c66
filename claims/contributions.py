"""Panels other apps add to the reviewer's claim page, registered at start-up.

The reviewer's claim page belongs to `reviews`; some of what it shows belongs to other apps (the
customer consent notices and the form to send one again belong to `consent`). Those apps may not
import each other (docs/design.md, "Apps and their direction"), so each registers its panel here
from its `AppConfig.ready`, the way it registers workflow steps with
`claims.workflow.register_step`, and the page renders whatever is registered, in registration order.
An explicit registry rather than signals: `claim_page_panels()` says at any time what the page holds.

`claims` holds the registry and knows nothing of what is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claims.models import Claim


@dataclass(frozen=True)
class ClaimPagePanel:
    """One section of the reviewer's claim page, shown after the comments.

    `name` is unique; the page mounts `act` (when given) at `<claim>/<name with dashes>/`, named
    `admin:claims_claim_<name>`. `read(claim, user)` returns what `template` shows, as `panel.context`,
    beside `panel.action_url` and the page's `claim`. `act(claim_id, by=user, data=POST)` answers a
    reviewer's POST to that URL with the message to show; it raises `TransitionRefused` or
    `ValidationError` (shown as the message) when it refuses, and changes nothing then.
    """

    name: str
    template: str
    read: Callable[[Claim, Any], Mapping[str, Any]]
    act: Callable[..., str] | None = None

    @property
    def path(self) -> str:
        return self.name.replace("_", "-")


_panels: dict[str, ClaimPagePanel] = {}


def register_claim_page_panel(panel: ClaimPagePanel) -> None:
    """Add `panel` to the reviewer's claim page (idempotent: the same panel twice is one panel)."""
    registered = _panels.get(panel.name)
    if registered is not None and registered != panel:
        raise ValueError(f"another claim page panel is already named {panel.name!r}")
    _panels[panel.name] = panel


def claim_page_panels() -> tuple[ClaimPagePanel, ...]:
    """The registered panels, in the order they were registered."""
    return tuple(_panels.values())


# Demo data other apps add to `manage.py seed_demo` (earnings: its finance user, the partners'
# billing people, example programme terms), registered from their `AppConfig.ready` like the panels
# above, so the command in claims/ imports none of them.
DemoSeeder = Callable[[], Sequence[str]]
_demo_seeders: dict[bool, list[DemoSeeder]] = {True: [], False: []}


def register_demo_seeder(seeder: DemoSeeder, *, before_claims: bool = False) -> None:
    """Run `seeder` in every `seed_demo`: at its end, after the claims, or with `before_claims`
    once the partners and people exist but before any demo claim moves (what the claims' own
    steps read when they move, such as the programme terms an assessment at hand-off applies).
    Idempotent: the same function twice is registered once. The seeder must be idempotent too,
    as the command is, and returns lines for the command to print (the accounts it added, say)."""
    registered = _demo_seeders[before_claims]
    if seeder not in registered:
        registered.append(seeder)


def demo_seeders(*, before_claims: bool = False) -> tuple[DemoSeeder, ...]:
    """The demo seeders registered for that moment, in the order they were registered."""
    return tuple(_demo_seeders[before_claims])
