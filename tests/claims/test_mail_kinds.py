"""Every kind of mail a claim's history names has its template in English and Turkish, each
starting with its subject line: a kind added to the workflow without one would fail only on
delivery, in the outbox, long after the change that wrote it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claims.history import MAIL_KINDS

MAIL = Path(__file__).resolve().parents[2] / "templates" / "mail"


@pytest.mark.parametrize("kind", sorted(MAIL_KINDS))
@pytest.mark.parametrize("language", ["en", "tr"])
def test_each_mail_kind_has_a_template_with_a_subject_in_both_languages(kind: str, language: str) -> None:
    template = MAIL / language / f"{kind}.txt"
    assert template.is_file(), f"no {language} template for {kind}"
    # The tags before the subject (autoescape, loads) render to nothing.
    text = re.sub(r"^(\{%[^%]*%\})*", "", template.read_text(encoding="utf-8"))
    assert text.startswith("Subject: "), template
