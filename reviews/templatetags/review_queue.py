"""`{% queue_result_list cl %}`: the review queue's table, Django's `{% result_list %}` with rows
written by `reviews.queue_rows` (the same HTML, a fraction of the cost).

`{% queue_list_filter cl spec %}`: Django's `{% admin_list_filter %}`, with each distinct filter
rendered once: the seven filters' lists (over forty products) are the same on most pages a
reviewer opens, and their template cost more than the page's rows."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.filters import ListFilter
from django.contrib.admin.templatetags.admin_list import result_headers, result_hidden_fields
from django.contrib.admin.views.main import ChangeList
from django.template.loader import get_template
from django.utils import translation
from django.utils.functional import Promise
from django.utils.safestring import SafeData, SafeString, mark_safe

from reviews.queue_rows import QueueRows

register = template.Library()


@register.inclusion_tag("admin/reviews/claim/change_list_results.html")
def queue_result_list(cl: ChangeList) -> dict[str, Any]:
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        # One string for the page: each row escaped its values (QueueRows.row).
        "rows": mark_safe("\n".join(QueueRows(cl).rows(cl.result_list))),  # noqa: S308
    }


STOCK_FILTER_TEMPLATE = "admin/filter.html"
FILTER_MEMO_SIZE = 256
_filters: dict[Any, SafeString] = {}


def _text(value: Any) -> tuple[str, bool, str]:
    """What the stock filter template's output depends on for a value: its kind, whether it is
    already safe HTML (then not escaped) and its text."""
    if not isinstance(value, str | int | float | Promise):
        raise TypeError(type(value))
    return type(value).__name__, isinstance(value, SafeData), str(value)


@register.simple_tag
def queue_list_filter(cl: ChangeList, spec: ListFilter) -> SafeString:
    choices = list(spec.choices(cl))
    context = {"title": spec.title, "choices": choices, "spec": spec}
    if spec.template != STOCK_FILTER_TEMPLATE:
        return get_template(spec.template).render(context)
    try:
        # All that admin/filter.html reads, in the language it is written in.
        key = (
            translation.get_language(),
            _text(spec.title),
            tuple(
                (bool(choice.get("selected")), _text(choice["query_string"]), _text(choice["display"]))
                for choice in choices
            ),
        )
    except (TypeError, KeyError):
        return get_template(spec.template).render(context)
    html = _filters.get(key)
    if html is None:
        html = get_template(spec.template).render(context)
        if len(_filters) >= FILTER_MEMO_SIZE:
            _filters.clear()
        _filters[key] = html
    return html
