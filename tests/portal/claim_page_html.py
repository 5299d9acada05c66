"""Reading the partner's claim page in tests: the page as HTML, the forms posting to a view, and
one labelled section."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from claims.models import Claim


def page(client: Client, claim: Claim) -> str:
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


def forms_posting_to(html: str, name: str, claim: Claim) -> int:
    return html.count(f'action="{reverse(name, args=[claim.pk])}"')


def section(html: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by `heading_id` ("" when there is none)."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    return match.group(0) if match else ""
