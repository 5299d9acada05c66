"""The Partner API, version 1 (`/api/v1/`): thin handlers over `claims.workflow` and `claims.selectors`.

Every handler fetches through the key's partner (another partner's claim is a 404), acts as the
key's creating user through the same workflow functions as the portal, and records "via API" with
the key's name in history. Writes need a read-write key and accept `Idempotency-Key`.
Errors are problem details (`api.problems`).
"""

# No `from __future__ import annotations`: django-ninja reads the handlers' annotations through the
# `idempotent` wrapper, whose module globals would not resolve string annotations.

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import CharField, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, NinjaAPI, Query, Schema, UploadedFile
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import BaseModel, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from api.auth import read_key, write_key
from api.idempotency import idempotent
from api.models import ApiKey
from api.problems import PROBLEM_CONTENT_TYPE, Problem, not_found, problem_response, validation_problem
from api.schemas import (
    ACTIONS,
    Action,
    ActionIn,
    ApiJSONRenderer,
    ChangeOut,
    ClaimCreate,
    ClaimOut,
    ClaimPage,
    ClaimPatch,
    CommentIn,
    CommentOut,
    DeadlineOut,
    DocumentOut,
    EventOut,
    MpnOut,
    ProblemOut,
    ProductOut,
)
from claims import selectors, workflow
from claims.history import author_label, history_entries
from claims.models import Activity, Claim, Comment, Fact, MpnId, PoeDocument, Product, SolutionArea
from claims.workflow import TransitionRefused

REFERENCE_CONSTRAINT = "claim_partner_external_reference_uniq"
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# What each action takes from the request body (the workflow's details for it).
ACTION_DETAILS: dict[str, tuple[str, ...]] = {
    "submit": (),
    "resubmit": ("comment",),
    "withdraw": ("reason", "comment"),
    "dispute": ("justification",),
}
# Every operation may answer with problem details (application/problem+json).
PROBLEMS: dict[int, Any] = {status: ProblemOut for status in (401, 403, 404, 409, 422, 429)}


class PartnerApi(NinjaAPI):
    """The API whose schema says what it sends: errors as application/problem+json, 429 with Retry-After."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: content["application/json"]}
                    if int(status) in RESPONSE_HEADERS:
                        response["headers"] = RESPONSE_HEADERS[int(status)]
        return schema


class ObjectBodyParser(Parser):
    """Every JSON body of this API is an object: django-ninja's schemas would read `0` or `[]` as
    an object with no fields (and a PATCH with it as a change of nothing)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        body = json.loads(request.body)
        if not isinstance(body, dict):
            raise ValueError("the body is not a JSON object")
        return body


RESPONSE_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    429: {
        "Retry-After": {
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
            "description": "seconds until this key's count starts again",
        }
    },
}

api = PartnerApi(
    title="CPOR Partner API",
    version="1",
    description=(
        "Create, follow and answer customer-association claims from your CRM. "
        "Authenticate with `Authorization: Bearer <key>` (create keys on the portal's API keys page). "
        "Every POST and PATCH accepts `Idempotency-Key`: a retry with the same key and body within 24 hours "
        "returns the first response and changes nothing; after 24 hours the key is forgotten and the request "
        "is new. Errors are RFC 9457 problem details with a `code`.\n\n"
        f"Rate limits, per API key and minute: {settings.CPOR_API_RATE_READ} reads (GET) and "
        f"{settings.CPOR_API_RATE_WRITE} writes. Past a limit the "
        "answer is 429 with code `rate_limited` and a `Retry-After` header: the seconds until the minute "
        "turns and the count starts again."
    ),
    urls_namespace="api-v1",
    renderer=ApiJSONRenderer(),
    auth=read_key,
    parser=ObjectBodyParser(),
)


# ---------------------------------------------------------------------------------------------
# Errors as problem details


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc)


@api.exception_handler(NinjaValidationError)
def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "payload")]
        loc = [part for part in loc if part not in ("form", "file", "filters", "data")] or ["__all__"]
        errors.setdefault(".".join(loc), []).append(str(error.get("msg", "")))
    return problem_response(validation_problem(errors))


@api.exception_handler(ValidationError)
def _rule_broken(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    errors = {("__all__" if name == "__all__" else name): list(messages) for name, messages in errors.items()}
    return problem_response(validation_problem(errors))


@api.exception_handler(TransitionRefused)
def _refused(request: HttpRequest, exc: TransitionRefused) -> HttpResponse:
    return problem_response(Problem(409, "transition_refused", str(exc)))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response(Problem(403, "forbidden", str(exc) or _("You are not allowed to do this.")))


@api.exception_handler(Http404)
def _missing(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(not_found())


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        Problem(401, "unauthorized", _("Send a valid API key: Authorization: Bearer <key>."))
    )


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return problem_response(Problem(429, "rate_limited", _("Too many requests; retry later.")))


def _unreadable_body() -> Problem:
    message = _("The request body could not be read: send a JSON object (or multipart/form-data for files).")
    return validation_problem({"__all__": [message]})


@api.exception_handler(MultiPartParserError)
def _bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # A multipart body Django cannot split (no or a bad boundary): a problem, not Django's HTML 400.
    return problem_response(_unreadable_body())


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # django-ninja could not parse the body: a validation problem like the rest
        return problem_response(_unreadable_body())
    codes = {
        400: "validation_error",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
    }
    return problem_response(Problem(exc.status_code, codes.get(exc.status_code, "error"), str(exc)))


# ---------------------------------------------------------------------------------------------
# Helpers


def _key(request: HttpRequest) -> ApiKey:
    return request.auth  # type: ignore[attr-defined]


def _via(request: HttpRequest) -> dict[str, str]:
    return {"channel": "api", "key": _key(request).name}


def _json(status: int, body: BaseModel) -> HttpResponse:
    return HttpResponse(body.model_dump_json(), status=status, content_type="application/json")


def _claims(request: HttpRequest) -> QuerySet[Claim]:
    return (
        selectors.partner_claims(_key(request).partner_id)
        .select_related("mpn")
        .prefetch_related(Prefetch("products", queryset=Product.objects.only("id", "code").order_by("code")))
    )


def _claim(request: HttpRequest, claim_id: int) -> Claim:
    claim = _claims(request).filter(pk=claim_id).first()
    if claim is None:
        raise not_found()
    return claim


ByStatus = dict[str, tuple[str, list[str], list[str], bool]]


def _by_status(
    request: HttpRequest, claim: Claim, answers: ByStatus
) -> tuple[str, list[str], list[str], bool]:
    """The status label, allowed actions, editable fields and may_add_documents. For the key's user
    on the key's own partner's claims they depend on the status alone (conditions are checked on
    use), so a page asks once per status: `answers` holds them."""
    if claim.status not in answers:
        may_write = _key(request).can_write
        answers[claim.status] = (
            str(Claim.Status(claim.status).label),
            [a for a in workflow.allowed_actions(claim, request.user) if a in ACTIONS] if may_write else [],
            sorted(claim.editable_fields()) if may_write else [],
            may_write and claim.may_add_documents,
        )
    return answers[claim.status]


def _product_codes_column() -> Subquery:
    """Each claim's product codes in one column of the list's query (no second query)."""
    codes = (
        Claim.products.through.objects.filter(claim_id=OuterRef("pk"))
        .order_by()
        .values("claim_id")
        .annotate(codes=selectors.JoinedNames("product__code"))
        .values("codes")
    )
    return Subquery(codes, output_field=CharField())


def _product_codes(claim: Claim) -> list[str]:
    """The list's `product_codes` annotation, or the prefetched products elsewhere (one claim)."""
    if hasattr(claim, "product_codes"):
        codes = claim.product_codes
        return sorted(codes.split(selectors.NAME_SEPARATOR)) if codes else []
    return [p.code for p in claim.products.all()]


def _claim_out(
    request: HttpRequest, claim: Claim, now: dt.datetime | None = None, answers: ByStatus | None = None
) -> ClaimOut:
    deadline_field = Claim.DEADLINE_BY_STATUS.get(claim.status)
    deadline = selectors.next_deadline(claim, now)
    label, allowed, editable, may_add_documents = _by_status(
        request, claim, {} if answers is None else answers
    )
    return ClaimOut(
        id=claim.pk,
        name=claim.name,
        external_reference=claim.external_reference,
        status=claim.status,
        status_label=label,
        mpn=claim.mpn.number,
        solution_area=claim.solution_area,
        activity=claim.activity,
        customer_name=claim.customer_name,
        customer_domain=claim.customer_domain,
        customer_tenant_id=claim.customer_tenant_id,
        subscription_id=claim.subscription_id,
        products=_product_codes(claim),
        customer_contact_name=claim.customer_contact_name,
        customer_contact_title=claim.customer_contact_title,
        customer_contact_email=claim.customer_contact_email,
        customer_contact_language=claim.customer_contact_language,
        technical_contact_name=claim.technical_contact_name,
        technical_contact_email=claim.technical_contact_email,
        technical_contact_phone=claim.technical_contact_phone,
        partner_contact_name=claim.partner_contact_name,
        partner_contact_email=claim.partner_contact_email,
        partner_contact_phone=claim.partner_contact_phone,
        work_description=claim.work_description,
        information_request_reasons=list(claim.information_request_reasons or []),
        rejection_reason=claim.rejection_reason,
        rejection_sub_reasons=list(claim.rejection_sub_reasons or []),
        dispute_justification=claim.dispute_justification,
        review_start_due_at=claim.review_start_due_at,
        review_due_at=claim.review_due_at,
        partner_response_due_at=claim.partner_response_due_at,
        consent_window_ends_at=claim.consent_window_ends_at,
        dispute_window_ends_at=claim.dispute_window_ends_at,
        dispute_response_due_at=claim.dispute_response_due_at,
        deadline=DeadlineOut(
            field=deadline_field, at=deadline.at, words=deadline.words, overdue=deadline.overdue
        )
        if deadline and deadline_field
        else None,
        allowed_actions=allowed,
        editable_fields=editable,
        may_add_documents=may_add_documents,
        copied_from=claim.copied_from_id,
        created_at=claim.created_at,
        submitted_at=claim.submitted_at,
        updated_at=claim.updated_at,
    )


def _refuse_nul(fields: dict[str, Any]) -> None:
    """A NUL in a body's text (or list of texts) is a field error: PostgreSQL can neither store nor
    compare it. (The query string's are refused before any view, by api.middleware.)"""
    with_nul = sorted(
        name
        for name, value in fields.items()
        if any(
            isinstance(text, str) and "\x00" in text
            for text in (value if isinstance(value, list) else [value])
        )
    )
    if with_nul:
        raise validation_problem({name: [_("Null characters are not allowed.")] for name in with_nul})


def _fields(request: HttpRequest, payload: Schema) -> tuple[dict[str, Any], list[str] | None]:
    """The payload's fields as the workflow takes them: the MPN ID as the partner's object."""
    fields = payload.model_dump(exclude_unset=True)
    _refuse_nul(fields)  # the MPN ID is looked up, the other texts stored
    products = fields.pop("products", None)
    for name, value in fields.items():
        field = Claim._meta.get_field(name)
        # null clears an optional text field (stored as ""); on a required one the model refuses it.
        if value is None and isinstance(field, CharField | TextField) and field.blank and not field.null:
            fields[name] = ""
    if "mpn" in fields:
        mpn = MpnId.objects.filter(partner_id=_key(request).partner_id, number=fields["mpn"]).first()
        if mpn is None:
            raise validation_problem({"mpn": [_("Not one of your organization's MPN IDs.")]})
        fields["mpn"] = mpn
    return fields, products


@contextmanager
def _reference_guard(request: HttpRequest, reference: Any, *, claim_id: int | None) -> Iterator[None]:
    """The unique constraint on the partner's references as the field error `Claim.clean` gives.

    The workflow serializes a partner's creations and edits, so `Claim.clean` normally sees the
    other claim first; the constraint is the guard whatever path wrote it, and is answered the same.
    """
    try:
        yield
    except IntegrityError as exc:
        if REFERENCE_CONSTRAINT not in str(exc) or not isinstance(reference, str):
            raise
        other = Claim.claim_with_reference(_key(request).partner_id, reference.strip(), excluding=claim_id)
        message = (
            Claim.reference_taken_message(other)
            if other is not None
            else _("Another of your claims already has this reference.")
        )
        raise validation_problem({"external_reference": [message]}) from None


def _encode_cursor(claim: Claim) -> str:
    raw = json.dumps([claim.updated_at.isoformat(), claim.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, pk = json.loads(raw)
        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(pk, int):
            raise ValueError(cursor)
        return moment, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise validation_problem({"cursor": [_("Not a cursor this API gave out.")]}) from None


# ---------------------------------------------------------------------------------------------
# Claims


class ClaimFilters(Schema):
    status: str | None = Field(None, description="a status code, e.g. submitted")
    activity: str | None = None
    solution_area: str | None = None
    product: str | None = Field(None, description="a product code")
    q: str | None = Field(None, description="search name, customer, domain or tenant ID", max_length=200)
    external_reference: str | None = Field(
        None, description="the claim with this reference of yours", max_length=100
    )
    updated_since: dt.datetime | None = Field(
        None, description="only claims changed at or after this time (ISO 8601, e.g. 2026-03-04T10:00:00Z)"
    )
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)

    @field_validator("updated_since", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        # pydantic would read a bare number as a Unix time; the schema promises a date-time string.
        if isinstance(value, int | float) or (isinstance(value, str) and NUMBER.fullmatch(value.strip())):
            raise ValueError("give an ISO 8601 date and time, e.g. 2026-03-04T10:00:00Z")
        return value


CHOICES = {"status": Claim.Status, "activity": Activity, "solution_area": SolutionArea}


@api.get("/claims", response={200: ClaimPage, **PROBLEMS}, tags=["claims"])
def list_claims(request: HttpRequest, filters: Query[ClaimFilters]) -> HttpResponse:
    """The partner's claims in a stable order (last change, then id): follow `next_cursor`."""
    for name, choices in CHOICES.items():
        value = getattr(filters, name)
        if value and value not in choices.values:
            raise validation_problem({name: [_("Unknown value “%(value)s”.") % {"value": value}]})
    text = (filters.q or "").strip()  # a NUL in the query string never gets here (api.middleware)
    chosen = selectors.DashboardFilters(
        q=text,
        status=filters.status or "",
        activity=filters.activity or "",
        solution_area=filters.solution_area or "",
        product=filters.product or "",
    )
    claims = selectors.filtered_claims(_key(request).partner_id, chosen)
    if filters.external_reference is not None:
        claims = claims.filter(external_reference=filters.external_reference.strip())
    if filters.updated_since is not None:
        since = filters.updated_since
        if timezone.is_naive(since):
            since = timezone.make_aware(since, dt.UTC)
        try:  # sent in UTC: PostgreSQL refuses offsets past 15:59, which ISO 8601 strings may carry
            since = since.astimezone(dt.UTC)
        except OverflowError:  # before year 1 or after 9999 once in UTC
            since = (
                dt.datetime.min.replace(tzinfo=dt.UTC)
                if since.year == 1
                else dt.datetime.max.replace(tzinfo=dt.UTC)
            )
        claims = claims.filter(updated_at__gte=since)
    if filters.cursor:
        at, pk = _decode_cursor(filters.cursor)
        # The bound on updated_at alone starts the index range at the cursor; the OR then skips its ties.
        claims = claims.filter(updated_at__gte=at).filter(Q(updated_at__gt=at) | Q(updated_at=at, pk__gt=pk))
    page = list(
        claims.select_related("mpn")
        .annotate(product_codes=_product_codes_column())
        .order_by("updated_at", "id")[: filters.limit + 1]
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    now, answers = timezone.now(), {}
    # Written by pydantic's own JSON serializer, like every POST and PATCH answer (the same time
    # format), and not validated a second time against the model it was built from.
    return _json(
        200,
        ClaimPage(
            items=[_claim_out(request, claim, now, answers) for claim in page],
            next_cursor=_encode_cursor(page[-1]) if more else None,
        ),
    )


@api.post("/claims", auth=write_key, response={201: ClaimOut, **PROBLEMS}, tags=["claims"])
@idempotent
def create_claim(request: HttpRequest, payload: ClaimCreate) -> HttpResponse:
    """Create a draft (status `editing`)."""
    fields, products = _fields(request, payload)
    fields = {name: value for name, value in fields.items() if value is not None}
    with _reference_guard(request, fields.get("external_reference"), claim_id=None):
        claim = workflow.create_claim(
            by=request.user, fields=fields, products=products or [], via=_via(request)
        )
    return _json(201, _claim_out(request, _claim(request, claim.pk)))


@api.get("/claims/{claim_id}", response={200: ClaimOut, **PROBLEMS}, tags=["claims"])
def get_claim(request: HttpRequest, claim_id: int) -> HttpResponse:
    """One claim: every field, its deadlines, reasons and the actions allowed now."""
    return _json(200, _claim_out(request, _claim(request, claim_id)))


@api.patch("/claims/{claim_id}", auth=write_key, response={200: ClaimOut, **PROBLEMS}, tags=["claims"])
@idempotent
def patch_claim(request: HttpRequest, claim_id: int, payload: ClaimPatch) -> HttpResponse:
    """Change the fields the claim's state allows (`editable_fields`); others are refused (409)."""
    claim = _claim(request, claim_id)
    fields, products = _fields(request, payload)
    if products is not None:
        fields["products"] = products
    with _reference_guard(request, fields.get("external_reference"), claim_id=claim.pk):
        workflow.edit_claim(claim, by=request.user, changes=fields, via=_via(request))
    return _json(200, _claim_out(request, _claim(request, claim_id)))


# The action's body: JSON (`ActionIn`), or multipart/form-data with the same fields as form fields
# and PoE files under `file` (repeatable) for the actions that take documents (resubmit, dispute), as
# the portal's forms do. Read here rather than by django-ninja, which parses one content type only.
ACTION_FORM_FIELDS = tuple(ActionIn.model_fields)
ACTION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": ActionIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **{name: {"type": "string"} for name in ACTION_FORM_FIELDS},
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "resubmit, dispute: updated PoE files, checked like uploads",
                        },
                    },
                }
            },
        },
    }
}


def _action_input(request: HttpRequest, action: str) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The details and files an action request brings, validated as `ActionIn` and by the action."""
    content_type = request.content_type or ""
    uploads: list[UploadedFile] = []
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        unknown = sorted((set(request.POST) - set(ACTION_FORM_FIELDS)) | (set(request.FILES) - {"file"}))
        if unknown:
            raise validation_problem({name: [_("Not used by this action.")] for name in unknown})
        raw: Any = {name: request.POST[name] for name in ACTION_FORM_FIELDS if name in request.POST}
        uploads = request.FILES.getlist("file")
    else:
        try:
            raw = json.loads(request.body or b"null")
        except ValueError:
            raise validation_problem(
                {"__all__": [_("Send the action's details as JSON or as multipart/form-data.")]}
            ) from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise validation_problem({"__all__": [_("Send the action's details as a JSON object.")]})
    try:
        payload = ActionIn.model_validate(raw)
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error.get("loc", ())) or "__all__"
            errors.setdefault(field, []).append(str(error.get("msg", "")))
        raise validation_problem(errors) from None
    given = payload.model_dump(exclude_none=True)
    _refuse_nul(given)
    # `expected_status` goes with any action: the one path refuses it on a claim that moved on.
    extra = sorted(set(given) - set(ACTION_DETAILS[action]) - {"expected_status"})
    if extra:
        raise validation_problem({name: [_("Not used by this action.")] for name in extra})
    if uploads and action not in Claim.actions_with(Fact.TAKES_DOCUMENTS):
        raise validation_problem({"file": [_("Documents can be sent with resubmit and dispute only.")]})
    return given, uploads


@api.post(
    "/claims/{claim_id}/actions/{action}",
    auth=write_key,
    response={200: ClaimOut, **PROBLEMS},
    tags=["claims"],
    openapi_extra=ACTION_BODY,
)
@idempotent
def act(request: HttpRequest, claim_id: int, action: Action) -> HttpResponse:
    """`submit`, `resubmit` (a comment or new PoE since the request), `withdraw` (`reason`), `dispute`
    (`justification`, or new PoE, or both). Send JSON, or multipart/form-data to attach PoE files
    (field `file`, repeatable) to `resubmit` or `dispute`: they are stored with the action, or not at all."""
    claim = _claim(request, claim_id)
    given, uploads = _action_input(request, action)
    if uploads:
        given["documents"] = uploads
    workflow.transition(claim, action, by=request.user, via=_via(request), **given)
    return _json(200, _claim_out(request, _claim(request, claim_id)))


# ---------------------------------------------------------------------------------------------
# Documents, comments, history


def _document_out(document: PoeDocument) -> DocumentOut:
    return DocumentOut(
        id=document.pk,
        name=document.original_name,
        kind=document.kind,
        content_type=document.content_type,
        size=document.size,
        sha256=document.sha256,
        uploaded_at=document.uploaded_at,
    )


@api.get("/claims/{claim_id}/documents", response={200: list[DocumentOut], **PROBLEMS}, tags=["documents"])
def list_documents(request: HttpRequest, claim_id: int) -> list[DocumentOut]:
    claim = _claim(request, claim_id)
    return [_document_out(d) for d in claim.documents.order_by("uploaded_at", "id")]


@api.post(
    "/claims/{claim_id}/documents",
    auth=write_key,
    response={201: DocumentOut, **PROBLEMS},
    tags=["documents"],
)
@idempotent
def upload_document(request: HttpRequest, claim_id: int, file: File[UploadedFile]) -> HttpResponse:
    """Upload one PoE file (multipart, field `file`): PDF, DOCX, PNG or JPEG, checked from its bytes."""
    claim = _claim(request, claim_id)
    document = workflow.add_document(claim, by=request.user, upload=file, via=_via(request))
    return _json(201, _document_out(document))


def _comment_out(comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.pk,
        author=author_label(comment.author_kind, comment.author, by_lead=getattr(comment, "by_lead", False)),
        body=comment.body,
        created_at=comment.created_at,
    )


@api.get("/claims/{claim_id}/comments", response={200: list[CommentOut], **PROBLEMS}, tags=["comments"])
def list_comments(request: HttpRequest, claim_id: int) -> list[CommentOut]:
    """The partner-visible comments, oldest first."""
    claim = _claim(request, claim_id)
    return [_comment_out(c) for c in selectors.partner_comments(claim)]


@api.post(
    "/claims/{claim_id}/comments", auth=write_key, response={201: CommentOut, **PROBLEMS}, tags=["comments"]
)
@idempotent
def add_comment(request: HttpRequest, claim_id: int, payload: CommentIn) -> HttpResponse:
    claim = _claim(request, claim_id)
    comment = workflow.add_comment(claim, by=request.user, body=payload.body, via=_via(request))
    return _json(201, _comment_out(comment))


@api.get("/claims/{claim_id}/events", response={200: list[EventOut], **PROBLEMS}, tags=["history"])
def list_events(request: HttpRequest, claim_id: int) -> list[EventOut]:
    """The claim's history as the partner sees it, in words, oldest first."""
    claim = _claim(request, claim_id)
    out = []
    for entry in history_entries(selectors.partner_events(claim)):
        event = entry.event
        via = (event.diff or {}).get("via")
        out.append(
            EventOut(
                id=event.pk,
                at=entry.at,
                who=entry.who,
                action=event.action,
                action_label=entry.action,
                from_status=event.from_status,
                to_status=event.to_status,
                note=entry.note,
                changes=[ChangeOut(field=c.label, before=c.before, after=c.after) for c in entry.changes],
                via_api_key=via.get("key") if isinstance(via, dict) and via.get("channel") == "api" else None,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Reference data


@api.get("/products", response={200: list[ProductOut], **PROBLEMS}, tags=["reference"])
def list_products(request: HttpRequest) -> list[ProductOut]:
    """The active product catalogue."""
    return [
        ProductOut(
            code=p.code,
            name=p.name,
            solution_area=p.solution_area,
            family=p.family,
            needs_technical_contact=p.needs_technical_contact,
        )
        for p in Product.objects.filter(active=True).order_by("solution_area", "name", "code")
    ]


@api.get("/mpns", response={200: list[MpnOut], **PROBLEMS}, tags=["reference"])
def list_mpns(request: HttpRequest) -> list[MpnOut]:
    """The partner's MPN IDs."""
    return [
        MpnOut(number=m.number, location=m.location)
        for m in MpnId.objects.filter(partner_id=_key(request).partner_id).order_by("number")
    ]


api.add_router("/webhooks", "api.webhook_api.router")
