"""The dashboard's chart: each status has a colour of its own in the stylesheet and its label as
HTML text, never only a colour."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from tests.factories import claim_in

pytestmark = pytest.mark.django_db

S = Claim.Status


def test_each_status_has_its_own_chart_colour_and_text_labels(manager: Any, manager_client: Client) -> None:
    css = (Path(settings.BASE_DIR) / "static" / "css" / "cpor.css").read_text()
    fills = {
        status: re.search(rf"\.bar\.status-{status} \{{ fill: (#[0-9a-f]{{6}}); \}}", css)
        for status in S.values
    }
    assert all(fills.values()), [s for s, m in fills.items() if not m]
    assert len({match.group(1) for match in fills.values() if match}) == len(S.values)
    claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager)
    html = manager_client.get(reverse("claims:dashboard")).content.decode()
    chart = html[html.index('<figure class="chart"') : html.index("</figure>")]
    for label in S.labels:
        assert f'<span class="chart-label">{label}</span>' in chart  # whole, as HTML text
    assert chart.count('class="bar status-') == len(S.values)
