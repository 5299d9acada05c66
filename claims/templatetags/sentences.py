"""Template filters for text that ends a sentence with a name from the data ("Litware Inc.")."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

SENTENCE_ENDS = (".", "!", "?", "…")


@register.filter(is_safe=True)
def end_sentence(value: Any) -> str:
    """`value` followed by a full stop, unless it already ends with one ("Inc." stays "Inc.")."""
    text = str(value)
    return text if text.rstrip().endswith(SENTENCE_ENDS) else text + "."
