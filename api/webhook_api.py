"""`/api/v1/webhooks`: a partner's webhook endpoints through the API (mounted in api/v1.py).

Reads take any key of the partner; changes take a read-write key. Another partner's endpoint is a
404. The signing secret is returned once, by the create; a retry of that create with the same
`Idempotency-Key` returns the same response, secret included — read again from its encrypted
store, so the stored idempotent response never holds it.
"""

# No `from __future__ import annotations`: django-ninja reads the handlers' annotations through the
# `idempotent` wrapper (see api/v1.py).

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from api import webhooks
from api.auth import write_key
from api.idempotency import REPLAY_HEADER, idempotent
from api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from api.problems import Problem
from api.schemas import ProblemOut
from api.webhooks.endpoints import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH, signing_secret
from api.webhooks.events import EVENT_TYPE_CODES

PROBLEMS: dict[int, Any] = {status: ProblemOut for status in (401, 403, 404, 409, 422, 429)}
RECENT_DELIVERIES = 100

router = Router(tags=["webhooks"])


class WebhookEndpointIn(Schema):
    url: str = Field(description="https URL that receives the events", max_length=MAX_URL_LENGTH)
    event_types: list[str] | None = Field(
        None,
        description="event types to receive, any of: "
        + ", ".join(f"`{code}`" for code in EVENT_TYPE_CODES)
        + "; omitted, every event type",
    )
    description: str = Field("", max_length=MAX_DESCRIPTION_LENGTH)


class WebhookEndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    is_active: bool = Field(description="false once disabled after a run of failed deliveries")
    disabled_at: dt.datetime | None
    disabled_reason: str
    consecutive_failures: int
    created_at: dt.datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(
        description="the signing secret (Standard Webhooks, `whsec_…`); shown only in this response"
    )


class WebhookDeliveryOut(Schema):
    id: int
    event_id: str = Field(description="the `webhook-id` header; the same on every attempt")
    event_type: str
    occurred_at: dt.datetime
    status: str = Field(description="pending, delivered or failed (given up)")
    attempts: int
    last_status_code: int | None
    last_error: str
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None


class TestEventOut(Schema):
    event_id: str
    delivery: WebhookDeliveryOut


def _key(request: HttpRequest) -> ApiKey:
    return request.auth  # type: ignore[attr-defined]


def _not_found() -> Problem:
    return Problem(
        404, "not_found", _("There is no such webhook endpoint, or it is not your organization's.")
    )


def _endpoints(request: HttpRequest) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner_id=_key(request).partner_id)


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    endpoint = _endpoints(request).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise _not_found()
    return endpoint


def _endpoint_out(endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=endpoint.pk,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        is_active=endpoint.is_active,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        consecutive_failures=endpoint.consecutive_failures,
        created_at=endpoint.created_at,
    )


def _delivery_out(delivery: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=delivery.pk,
        event_id=delivery.event_id,
        event_type=delivery.event.type,
        occurred_at=delivery.event.occurred_at,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        last_attempt_at=delivery.last_attempt_at,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
    )


def _json(status: int, body: Schema) -> HttpResponse:
    return HttpResponse(body.model_dump_json(), status=status, content_type="application/json")


def _with_secret(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around `idempotent`: the handler's response (stored for retries) leaves the secret out; it
    is added to the first response and to each replay from the endpoint's encrypted secret."""
    stored = idempotent(handler)

    @functools.wraps(handler)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = stored(request, *args, **kwargs)
        if response.status_code != 201:
            return response
        body = json.loads(response.content)
        endpoint = _endpoints(request).filter(pk=body.get("id")).first()
        if endpoint is None:  # deleted since: its secret is gone with it
            raise _not_found()
        body["secret"] = signing_secret(endpoint)
        out = HttpResponse(json.dumps(body), status=201, content_type="application/json")
        if response.has_header(REPLAY_HEADER):
            out[REPLAY_HEADER] = response[REPLAY_HEADER]
        out["Cache-Control"] = "no-store"
        return out

    return wrapper


@router.get("", response={200: list[WebhookEndpointOut], **PROBLEMS})
def list_endpoints(request: HttpRequest) -> list[WebhookEndpointOut]:
    """Your organization's webhook endpoints (without their secrets)."""
    return [_endpoint_out(e) for e in _endpoints(request).order_by("created_at", "id")]


@router.post("", auth=write_key, response={201: WebhookEndpointCreated, **PROBLEMS})
@_with_secret
def create_endpoint(request: HttpRequest, payload: WebhookEndpointIn) -> HttpResponse:
    """Register an endpoint. The response carries its signing secret, shown only now: verify each
    delivery's `webhook-signature` with it (Standard Webhooks)."""
    endpoint, _secret = webhooks.create_endpoint(
        partner=_key(request).partner,
        by=request.user,
        url=payload.url,
        event_types=list(EVENT_TYPE_CODES) if payload.event_types is None else payload.event_types,
        description=payload.description,
    )
    return _json(201, _endpoint_out(endpoint))


@router.delete("/{endpoint_id}", auth=write_key, response={204: None, **PROBLEMS})
def delete_endpoint(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Delete an endpoint; it receives nothing more."""
    webhooks.delete_endpoint(_endpoint(request, endpoint_id), by=request.user)
    return HttpResponse(status=204)


@router.post("/{endpoint_id}/enable", auth=write_key, response={200: WebhookEndpointOut, **PROBLEMS})
@idempotent
def enable_endpoint(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Enable an endpoint disabled after failed deliveries; the events kept meanwhile are sent."""
    try:
        endpoint = webhooks.enable_endpoint(_endpoint(request, endpoint_id), by=request.user)
    except WebhookEndpoint.DoesNotExist:  # deleted since it was fetched
        raise _not_found() from None
    return _json(200, _endpoint_out(endpoint))


@router.post("/{endpoint_id}/test", auth=write_key, response={202: TestEventOut, **PROBLEMS})
@idempotent
def send_test_event(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Send a `webhook.test` event to this endpoint; follow it in its deliveries."""
    endpoint = _endpoint(request, endpoint_id)
    try:
        event = webhooks.send_test_event(endpoint, by=request.user)
    except IntegrityError:  # the endpoint was deleted since it was fetched
        raise _not_found() from None
    delivery = WebhookDelivery.objects.select_related("event").filter(endpoint=endpoint, event=event).first()
    if delivery is None:  # deleted, with its deliveries, right after the event was queued
        raise _not_found()
    return _json(202, TestEventOut(event_id=event.pk, delivery=_delivery_out(delivery)))


@router.get("/{endpoint_id}/deliveries", response={200: list[WebhookDeliveryOut], **PROBLEMS})
def list_deliveries(request: HttpRequest, endpoint_id: int) -> list[WebhookDeliveryOut]:
    """The endpoint's recent deliveries, newest first (status code, attempts, next try)."""
    endpoint = _endpoint(request, endpoint_id)
    recent = endpoint.deliveries.select_related("event").order_by("-created_at", "-id")
    return [_delivery_out(d) for d in recent[:RECENT_DELIVERIES]]
