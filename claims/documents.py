"""Proof-of-execution files: the type is read from the bytes, never from the name."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
import zlib
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from claims.models import Claim, PoeDocument

EXTENSION = {
    PoeDocument.Kind.PDF: "pdf",
    PoeDocument.Kind.DOCX: "docx",
    PoeDocument.Kind.PNG: "png",
    PoeDocument.Kind.JPEG: "jpg",
}


def sniff_kind(stream: IO[bytes]) -> str | None:
    """PDF, PNG, JPEG by signature; DOCX as a ZIP package holding a Word main document."""
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return PoeDocument.Kind.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PoeDocument.Kind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return PoeDocument.Kind.JPEG
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(stream) as package:
                names = set(package.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        finally:
            stream.seek(0)
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return PoeDocument.Kind.DOCX
    return None


# PDF names that make a reader act by itself: run script (/JavaScript, /JS), act on opening
# (/OpenAction), on page or field events (/AA, additional actions) or start a program (/Launch).
ACTIVE_PDF_NAMES = frozenset({b"JavaScript", b"JS", b"OpenAction", b"AA", b"Launch"})
PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r /%()<>\[\]{}]+)")
PDF_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
PDF_FLATE_STREAM = re.compile(rb"/FlateDecode.*?stream\r?\n", re.DOTALL)
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a compressed bomb stops here (and is refused)


def _pdf_names(data: bytes) -> set[bytes]:
    """Every name in `data`, with #xx escapes decoded (/J#61vaScript is /JavaScript)."""
    return {PDF_HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), n) for n in PDF_NAME.findall(data)}


def pdf_active_content(stream: IO[bytes]) -> set[str]:
    """The active names a PDF holds, in its own bytes or in its Flate-compressed streams.

    Conservative: a name anywhere counts, whether or not a reader would reach it, and a
    compressed stream that cannot be read in full, or inflates past MAX_INFLATED_BYTES, is reported
    as "unreadable stream" (hidden content cannot be checked). Other stream filters (LZW, ASCII85…)
    are not decoded.
    """
    stream.seek(0)
    data = stream.read()
    stream.seek(0)
    found = _pdf_names(data) & ACTIVE_PDF_NAMES
    budget = MAX_INFLATED_BYTES
    view = memoryview(data)
    for match in PDF_FLATE_STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(view[match.end() : end if end > 0 else len(data)], budget)
        except zlib.error:
            inflated = b""
        if inflater.unconsumed_tail:  # more than the budget left
            found.add(b"unreadable stream")
            break
        budget -= len(inflated)
        found |= _pdf_names(inflated) & ACTIVE_PDF_NAMES
    return {name.decode("ascii") for name in found}


def clean_upload(claim: Claim, upload: UploadedFile, *, already: int | None = None) -> str:
    """Check one upload against the size, count and type rules; return its kind."""
    name = (upload.name or "document")[:200]
    if upload.size is None or upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    limit = settings.CPOR_POE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("%(name)s is larger than %(limit)s.") % {"name": name, "limit": filesizeformat(limit)}
        )
    count = claim.documents.count() if already is None else already
    if count >= settings.CPOR_POE_MAX_FILES:
        raise ValidationError(
            _("A claim holds at most %(count)s documents.") % {"count": settings.CPOR_POE_MAX_FILES}
        )
    content = upload.file if hasattr(upload, "file") else upload
    kind = sniff_kind(content)
    if kind is None:
        raise ValidationError(
            _("%(name)s is not a PDF, DOCX, PNG or JPEG file (its content was checked).") % {"name": name}
        )
    if kind == PoeDocument.Kind.PDF and pdf_active_content(content):
        raise ValidationError(
            _(
                "%(name)s contains JavaScript or actions that run by themselves, which we do not accept."
                " Print it to a new PDF (or export it without scripts and actions) and upload that."
            )
            % {"name": name}
        )
    return kind


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def store_document(claim: Claim, upload: UploadedFile, *, by: Any, now: dt.datetime) -> PoeDocument:
    """Validate and store one upload under a generated name (no history row: the caller writes it)."""
    kind = clean_upload(claim, upload)
    original = "".join(ch for ch in (upload.name or "document") if ch.isprintable() and ch not in "\\/\x00")
    document = PoeDocument(
        claim=claim,
        original_name=(original or "document")[:255],
        kind=kind,
        size=upload.size,
        sha256=_sha256(upload),
        uploaded_by=None if not getattr(by, "is_authenticated", False) else by,
        uploaded_at=now,
    )
    document.file.save(f"upload.{EXTENSION[kind]}", upload, save=False)
    document.save()
    return document


PRESIGNED_SECONDS = 60  # an S3 download link lives this long
SAME_KIND_EXTENSIONS = {"jpeg": "jpg"}


def download_name(document: PoeDocument) -> str:
    """The uploaded name with the extension of the type read from the bytes: `invoice.html` that
    is a PDF downloads as `invoice.pdf`, so no program opens it as something else."""
    extension = EXTENSION[document.kind]
    stem, dot, given = document.original_name.rpartition(".")
    if not dot or not stem:
        return f"{document.original_name or 'document'}.{extension}"
    if SAME_KIND_EXTENSIONS.get(given.lower(), given.lower()) == extension:
        return document.original_name
    return f"{stem}.{extension}"


def serve(document: PoeDocument, *, inline: bool = False) -> HttpResponse:
    """The file for someone already allowed to see it: local storage streams it through the web
    process; S3 answers with a short pre-signed link, so the bucket stays private. A file missing
    from storage is a 404, never a 500."""
    storage = document.file.storage
    if isinstance(storage, FileSystemStorage):
        try:
            handle = storage.open(document.file.name, "rb")
        except OSError:
            raise Http404(_("The file is no longer available.")) from None
        response: HttpResponse = FileResponse(
            handle,
            as_attachment=not inline,
            filename=download_name(document),
            content_type=document.content_type,
        )
    else:
        response = HttpResponseRedirect(
            storage.url(
                document.file.name,
                parameters={
                    "ResponseContentDisposition": content_disposition_header(
                        not inline, download_name(document)
                    ),
                    "ResponseContentType": document.content_type,
                },
                expire=PRESIGNED_SECONDS,
            )
        )
    response["Cache-Control"] = "private, no-store"
    return response
