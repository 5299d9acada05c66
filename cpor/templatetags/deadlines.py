"""`{% deadline_words "partner_response_due_at" deadline written_at %}`: a deadline in words in templates.

Mail is rendered when it is delivered, which may be later than the change it reports (a broker or SMTP
outage): the words count from `written_at`, the moment the message was written, so a delayed mail
still says what was true when it was sent ("within 5 business days", then the date).
"""

from __future__ import annotations

import datetime as dt

from django import template

from cpor.deadlines import describe_deadline

register = template.Library()


@register.simple_tag
def deadline_words(field_name: str, at: dt.datetime | None, since: dt.datetime | None = None) -> str:
    deadline = describe_deadline(field_name, at, since)
    return deadline.words if deadline else ""
