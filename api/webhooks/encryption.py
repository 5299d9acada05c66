"""Encryption of secrets the app must read back (webhook signing secrets): MultiFernet.

Each value of CPOR_ENCRYPTION_KEYS (or, when none is set, SECRET_KEY) is stretched into a Fernet
key with HKDF, so an operator may set any long random string. The first key encrypts; every key
decrypts, so keys rotate by putting a new one first and dropping an old one once `reencrypt` has
moved everything off it.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"cpor stored-secret encryption v1"


def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@functools.cache
def _cipher(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(material) for material in materials])


def cipher() -> MultiFernet:
    materials = tuple(settings.CPOR_ENCRYPTION_KEYS) or (settings.SECRET_KEY,)
    return _cipher(materials)


def encrypt(plain: str) -> str:
    return cipher().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """Raises cryptography.fernet.InvalidToken when no configured key opens it."""
    return cipher().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The token encrypted under the first key (for rotation)."""
    return cipher().rotate(token.encode()).decode()
