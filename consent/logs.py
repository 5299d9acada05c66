"""Links that carry a secret in their path never reach a log line.

One list, `SECRET_PATHS`, names every such path: a consent link (/consent/<token>/) and a customer's
sign-in link (/customer/sign-in/<token>/). The gunicorn access log (deploy/gunicorn.conf.py) and
Django's loggers both redact with it, so a new secret path is added here once.

Django logs the path of a refused request ("Forbidden (CSRF token missing.): /consent/<token>/",
"Too Many Requests: …", "Method Not Allowed …"), and django-axes the path of a sign-out (signing in
as a customer signs a partner out in the same browser). The filter sits on the loggers that write
such lines (installed in `ConsentConfig.ready`): a logger's own filters run before any handler, so
every handler gets the redacted line.

This module imports nothing from Django: gunicorn's config loads it before any app.
"""

from __future__ import annotations

import logging
import re

# The path prefixes whose next segment is a secret (a single-use token).
SECRET_PATH_PREFIXES = ("/consent/", "/customer/sign-in/")
SECRET_PATHS = re.compile(
    "(" + "|".join(re.escape(prefix) for prefix in SECRET_PATH_PREFIXES) + r")[^/\s\"'?#]+"
)
# The loggers that write request paths: Django's, and django-axes' (a sign-out).
PATH_LOGGERS = (
    "django.request",
    "django.security.csrf",
    "django.server",
    "axes.handlers.database",
    "axes.handlers.cache",
)


def redact(text: str) -> str:
    """`text` with the token of every secret path replaced by "…"."""
    return SECRET_PATHS.sub(r"\1…", text)


def holds_secret_path(text: str) -> bool:
    return any(prefix in text for prefix in SECRET_PATH_PREFIXES)


class HideTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if holds_secret_path(message):
            record.msg, record.args = redact(message), ()
        return True


def install() -> None:
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideTokens) for f in logger.filters):
            logger.addFilter(HideTokens())
