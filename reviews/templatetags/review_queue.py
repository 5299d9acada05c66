"""`{% queue_result_list cl %}`: the review queue's table, Django's `{% result_list %}` with rows
written by `reviews.queue_rows` (the same HTML, a fraction of the cost)."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers, result_hidden_fields
from django.contrib.admin.views.main import ChangeList
from django.utils.safestring import mark_safe

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
