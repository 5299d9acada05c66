"""gunicorn in production: `.venv/bin/gunicorn -c deploy/gunicorn.conf.py cpor.wsgi`, from the checkout.

Environment: PORT (default 8000) and BIND_HOST (default 0.0.0.0) give the address; WEB_CONCURRENCY
the number of worker processes (default: one per CPU core); GUNICORN_TIMEOUT the seconds a request
may take (default 60: a 20 MB PoE upload that the proxy has buffered). Logs go to stdout/stderr.

The access log never holds a secret carried in a path: a consent link (/consent/<token>/), a
customer's sign-in link (/customer/sign-in/<token>/) (both from `consent.logs.SECRET_PATHS`, the one
list the Django log filter uses too) or a password-reset link (/accounts/reset/<uid>/<token>/) is
written with its token replaced by "…", in the request line, the path and the Referer alike.
"""

from __future__ import annotations

import logging
import os
import re

from gunicorn.glogging import Logger

from consent import logs as secret_paths

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# One sync worker per core this process may run on (a container's CPU set, not the host's count): with
# persistent database connections a request is CPU-bound, and issue 16 measured more workers than
# cores making every page slower. WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30
# Workers are recycled now and then, so slow leaks cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Managed with signals (HUP reloads, TERM stops); no control socket in $HOME shared by every gunicorn
# the same user runs.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

RESET_TOKEN = re.compile(r"(/reset/[^/\s\"']+/)(?!set-password/)[^/\s\"']+")


def redact(line: str) -> str:
    return RESET_TOKEN.sub(r"\1…", secret_paths.redact(line))


class HideTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if secret_paths.holds_secret_path(message) or "/reset/" in message:
            record.msg, record.args = redact(message), ()
        return True


class TokenHidingLogger(Logger):
    """gunicorn's logger with the filter on its access and error logs (a failed request's error
    line names its path too)."""

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, HideTokens) for f in log.filters):
                log.addFilter(HideTokens())


logger_class = TokenHidingLogger
