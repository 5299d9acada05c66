"""The development mail backend: each message printed as a person reads it.

Django's console backend prints the wire format, where a subject with curly quotes or Turkish letters
is RFC 2047-encoded ("=?utf-8?q?...") and a long body may be quoted-printable. This one prints the
headers decoded and the body as text, with the same stream handling and locking.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

SHOWN_HEADERS = ("Subject", "From", "To", "Cc", "Reply-To", "Date")


class EmailBackend(DjangoConsoleBackend):
    def write_message(self, message: Any) -> None:
        wire = message.message()
        lines = [
            f"{name}: {make_header(decode_header(str(wire[name])))}" for name in SHOWN_HEADERS if wire[name]
        ]
        body = message.body
        for content, mimetype in getattr(message, "alternatives", None) or ():
            body += f"\n[{mimetype} alternative, {len(content)} characters]"
        self.stream.write("\n".join(lines) + "\n\n" + body.rstrip("\n") + "\n")
        self.stream.write("-" * 79 + "\n")
