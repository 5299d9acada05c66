"""The downloadable proof-of-execution template: a small Word document, in the reader's language.

Built in memory from translatable text (a DOCX is UTF-8 XML, so Turkish letters survive), so the
template always says what reviewers check: the five information-request reasons.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""

RELATIONSHIPS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
 Target="word/document.xml"/>
</Relationships>"""

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _paragraph(text: str, *, bold: bool = False, size: int = 22) -> str:
    run_properties = f'<w:rPr>{"<w:b/>" if bold else ""}<w:sz w:val="{size}"/></w:rPr>'
    return f'<w:p><w:r>{run_properties}<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def poe_template_lines() -> list[tuple[str, str]]:
    """(style, text) lines of the template; style is "title", "heading", "item" or "text"."""
    return [
        ("title", _("CPOR proof of execution (PoE)")),
        (
            "text",
            _("Fill in every part, have the customer sign it, and upload it to your claim as PDF or DOCX."),
        ),
        ("heading", _("1. Customer")),
        ("item", _("Customer name:")),
        ("item", _("Customer tenant ID (GUID) or verified domain:")),
        ("heading", _("2. Products and workloads")),
        ("item", _("Name every product or workload you claim, exactly as in the claim:")),
        ("heading", _("3. The solution or service you delivered")),
        ("item", _("Describe the work you did for the customer, with its scope and results:")),
        ("heading", _("4. Dates")),
        ("item", _("Start and end dates of the work (recent, and fitting the claim):")),
        ("item", _("Date of this document:")),
        ("heading", _("5. Customer acknowledgment")),
        ("item", _("Customer signatory (name, title):")),
        ("item", _("Signature and date:")),
        ("heading", _("Before you upload, check that the PoE shows")),
        ("item", _("• the customer's signature or written acknowledgment")),
        ("item", _("• dates that are present and recent")),
        ("item", _("• the solution or service you delivered")),
        ("item", _("• every product or workload claimed")),
        ("item", _("• the customer's tenant ID or verified domain")),
    ]


def poe_template_docx() -> bytes:
    sizes = {"title": 32, "heading": 26, "item": 22, "text": 22}
    body = "".join(
        _paragraph(text, bold=style in ("title", "heading"), size=sizes[style])
        for style, text in poe_template_lines()
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W}"><w:body>{body}<w:sectPr/></w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", RELATIONSHIPS)
        package.writestr("word/document.xml", document)
    return buffer.getvalue()
