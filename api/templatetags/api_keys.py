from typing import Any

from django import template

from api.auth import may_manage_keys
from claims.selectors import membership_for

register = template.Library()


@register.filter
def may_manage_api_keys(user: Any) -> bool:
    return may_manage_keys(membership_for(user))
