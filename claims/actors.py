"""Who can act on a claim besides a signed-in user: the customer (through an emailed link) and the system."""

from __future__ import annotations


class Actor:
    """A non-user actor. Quacks enough like AnonymousUser that permission checks simply say no."""

    is_authenticated = False
    is_active = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<Actor {self.kind}>"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


CUSTOMER = Actor("customer")
SYSTEM = Actor("system")
