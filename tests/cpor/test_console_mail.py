"""Development mail (`cpor.console_mail`) is printed readable: subjects and bodies as text, not
MIME-encoded words."""

from __future__ import annotations

import io

from django.core.mail import EmailMessage

from cpor.console_mail import EmailBackend


def test_development_mail_prints_readable_subjects() -> None:
    stream = io.StringIO()
    EmailBackend(stream=stream).send_messages(
        [
            EmailMessage(
                "Eylem gerekli: CPOR talebi “Satış”", "Merhaba,\nçalışma", "cpor@x.example", ["a@b.example"]
            )
        ]
    )
    printed = stream.getvalue()
    assert "Subject: Eylem gerekli: CPOR talebi “Satış”" in printed
    assert "=?utf-8?" not in printed and "Merhaba,\nçalışma" in printed
