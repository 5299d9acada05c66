"""Consent links never reach a log line.

Django logs the path of a refused request ("Forbidden (CSRF token missing.): /consent/<token>/",
"Too Many Requests: …", "Method Not Allowed …"), and for a consent page the path is the customer's
link. The filter sits on the loggers that write such lines (installed in `ConsentConfig.ready`):
a logger's own filters run before any handler, so every handler gets the redacted line.
"""

from __future__ import annotations

import logging
import re

LINK_TOKEN = re.compile(r"(/consent/)[^/\s\"']+")
# The loggers Django writes request paths to.
PATH_LOGGERS = ("django.request", "django.security.csrf", "django.server")


class HideConsentTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/consent/" in message:
            record.msg, record.args = LINK_TOKEN.sub(r"\1…", message), ()
        return True


def install() -> None:
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideConsentTokens) for f in logger.filters):
            logger.addFilter(HideConsentTokens())
