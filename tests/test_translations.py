"""The Turkish catalogue is complete, and the compiled catalogue the application loads matches it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import translation

PO = Path(__file__).resolve().parent.parent / "locale" / "tr" / "LC_MESSAGES" / "django.po"


@dataclass
class Entry:
    flags: set[str] = field(default_factory=set)
    parts: dict[str, str] = field(default_factory=dict)  # msgctxt, msgid, msgid_plural, msgstr, msgstr[0] …


def entries() -> list[Entry]:
    """The entries of the .po file (the header, with its empty msgid, left out)."""
    found: list[Entry] = []
    entry, key = Entry(), ""
    for line in [*PO.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line:
            if entry.parts.get("msgid"):
                found.append(entry)
            entry, key = Entry(), ""
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry.parts[key] += ast.literal_eval(line)
        else:
            key, _, text = line.partition(" ")
            entry.parts[key] = ast.literal_eval(text)
    return found


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    catalogue = entries()
    assert len(catalogue) > 500
    fuzzy = [e.parts["msgid"] for e in catalogue if "fuzzy" in e.flags]
    empty = [
        e.parts["msgid"]
        for e in catalogue
        if not all(text for key, text in e.parts.items() if key.startswith("msgstr"))
    ]
    assert fuzzy == []
    assert empty == []


def test_the_compiled_catalogue_says_what_the_po_file_says() -> None:
    plain = [e for e in entries() if "msgctxt" not in e.parts and "msgid_plural" not in e.parts]
    assert len(plain) > 500
    with translation.override("tr"):
        stale = [
            e.parts["msgid"] for e in plain if translation.gettext(e.parts["msgid"]) != e.parts["msgstr"]
        ]
    assert stale == [], "run `manage.py compilemessages -l tr` and commit the .mo"
