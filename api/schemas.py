"""The Partner API's request and response shapes (v1: additive changes only)."""

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Schema
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel, Field

from claims.models import Claim


class ApiJSONEncoder(NinjaJSONEncoder):
    """Times to the microsecond, UTC as Z, as pydantic writes them: answers rendered by ninja (most
    GETs), answers written by pydantic (claims, POST and PATCH) and webhook events read times alike."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):
            return o.isoformat().replace("+00:00", "Z")
        return super().default(o)


class ApiJSONRenderer(JSONRenderer):
    encoder_class = ApiJSONEncoder


def api_time(value: dt.datetime | None) -> str | None:
    """A time as the API writes it."""
    return None if value is None else ApiJSONEncoder().default(value)


ACTIONS = ("submit", "resubmit", "withdraw", "dispute")
Action = Literal["submit", "resubmit", "withdraw", "dispute"]
# The claim's statuses, read from the state machine so the schema cannot drift from it.
ClaimStatus = Literal[tuple(Claim.Status.values)]  # type: ignore[valid-type]


# The claim's output models are plain pydantic models: ninja's Schema wraps each value it reads in a
# DjangoGetter (made for ORM objects), which a page of 100 claims pays ~50 times per claim for nothing.
class DeadlineOut(BaseModel):
    field: str = Field(description="the claim column of the deadline, e.g. review_start_due_at")
    at: dt.datetime
    words: str = Field(description="the deadline in words, as the portal shows it")
    overdue: bool


class ClaimOut(BaseModel):
    id: int
    name: str
    external_reference: str = Field(description="your own reference for the claim; empty when not given")
    status: str
    status_label: str
    mpn: str
    solution_area: str
    activity: str
    customer_name: str
    customer_domain: str
    customer_tenant_id: uuid.UUID
    subscription_id: uuid.UUID | None
    products: list[str] = Field(description="product codes")
    customer_contact_name: str
    customer_contact_title: str
    customer_contact_email: str
    customer_contact_language: str
    technical_contact_name: str
    technical_contact_email: str
    technical_contact_phone: str
    partner_contact_name: str
    partner_contact_email: str
    partner_contact_phone: str
    work_description: str
    information_request_reasons: list[str]
    rejection_reason: str
    rejection_sub_reasons: list[str]
    dispute_justification: str
    review_start_due_at: dt.datetime | None
    review_due_at: dt.datetime | None
    partner_response_due_at: dt.datetime | None
    consent_window_ends_at: dt.datetime | None
    dispute_window_ends_at: dt.datetime | None
    dispute_response_due_at: dt.datetime | None
    deadline: DeadlineOut | None = Field(description="the deadline the claim runs on now")
    allowed_actions: list[str] = Field(description="actions this key's user may start now")
    editable_fields: list[str] = Field(description="fields PATCH may change in this state")
    may_add_documents: bool
    copied_from: int | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    updated_at: dt.datetime


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class ClaimFields(Schema):
    """The partner's fields of a claim. On create the first block is required; PATCH sends any."""

    mpn: str | None = Field(None, description="one of the partner's MPN IDs (GET /mpns)")
    external_reference: str | None = Field(
        None,
        max_length=100,
        description="your own reference (e.g. your CRM's record ID), unique among your claims; "
        "editable while the claim is editing, submitted or partner_action_required",
    )
    products: list[str] | None = Field(None, description="product codes (GET /products)")
    customer_contact_name: str | None = None
    customer_contact_title: str | None = None
    customer_contact_email: str | None = None
    customer_contact_language: str | None = None
    technical_contact_name: str | None = None
    technical_contact_email: str | None = None
    technical_contact_phone: str | None = None
    partner_contact_name: str | None = None
    partner_contact_email: str | None = None
    partner_contact_phone: str | None = None
    name: str | None = None
    solution_area: str | None = None
    activity: str | None = None
    customer_name: str | None = None
    customer_domain: str | None = None
    customer_tenant_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None
    work_description: str | None = None


class ClaimCreate(ClaimFields):
    name: str
    mpn: str
    solution_area: str
    activity: str
    customer_name: str
    customer_domain: str
    customer_tenant_id: uuid.UUID
    products: list[str] = Field(default_factory=list, description="product codes (GET /products)")


class ClaimPatch(ClaimFields):
    pass


class DocumentOut(Schema):
    id: int
    name: str
    kind: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime


class ActionIn(Schema):
    comment: str | None = Field(None, description="resubmit, withdraw: a comment to the reviewer")
    reason: str | None = Field(None, description="withdraw: wrong_mpn, wrong_activity or no_longer_working")
    justification: str | None = Field(None, description="dispute: the business justification")
    expected_status: ClaimStatus | None = Field(
        None,
        description="any action: the status your copy of the claim shows; when the claim has moved on "
        "since, the action is refused (409 transition_refused) and nothing changes",
    )


class CommentIn(Schema):
    body: str


class CommentOut(Schema):
    id: int
    author: str
    body: str
    created_at: dt.datetime


class ChangeOut(Schema):
    field: str
    before: str
    after: str


class EventOut(Schema):
    id: int
    at: dt.datetime
    who: str
    action: str = Field(description="the action's code (submit, edit, upload, comment, …)")
    action_label: str
    from_status: str
    to_status: str
    note: str
    changes: list[ChangeOut]
    via_api_key: str | None = Field(description="the API key's name when made through the API")


class ProductOut(Schema):
    code: str
    name: str
    solution_area: str
    family: str
    needs_technical_contact: bool


class MpnOut(Schema):
    number: str
    location: str


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: dict[str, list[str]] | None = None
