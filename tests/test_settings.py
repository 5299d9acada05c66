"""Settings come from the environment and fail loudly when production would be misconfigured.

Each case imports the settings in a fresh interpreter with a clean environment, so what this
test process was started with does not leak in. That environment has DEBUG=true, as `make run` and
the test suite have, unless a case sets DEBUG itself or removes it (DEBUG=None).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

REPORT = """
import json
import cpor.settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "secret_key": s.SECRET_KEY,
    "engine": s.DATABASES["default"]["ENGINE"],
    "db_name": s.DATABASES["default"]["NAME"],
    "db_host": s.DATABASES["default"]["HOST"],
    "broker": s.CELERY_BROKER_URL,
    "poe_backend": s.STORAGES["poe"]["BACKEND"],
    "poe_bucket": s.STORAGES["poe"].get("OPTIONS", {}).get("bucket_name"),
    "site_url": s.SITE_URL,
}))
"""


def import_settings(
    tmp_path: Path, code: str = REPORT, **env: str | None
) -> subprocess.CompletedProcess[str]:
    given = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CPOR_VAR_DIR": str(tmp_path / "var"),  # settings create folders here, not in the checkout
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEBUG": "true",
        **env,
    }
    clean = {name: value for name, value in given.items() if value is not None}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def report(tmp_path: Path, **env: str | None) -> dict[str, object]:
    result = import_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_development_needs_no_other_variable(tmp_path: Path) -> None:
    values = report(tmp_path, DEBUG="true")
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["broker"] == "filesystem://"
    assert values["poe_backend"] == "django.core.files.storage.FileSystemStorage"


def test_links_point_at_the_default_port_without_variables(tmp_path: Path) -> None:
    assert report(tmp_path)["site_url"] == "http://127.0.0.1:8000"


def test_links_follow_the_port_served(tmp_path: Path) -> None:
    assert report(tmp_path, PORT="8811")["site_url"] == "http://127.0.0.1:8811"


def test_a_site_url_that_is_set_wins_over_the_port(tmp_path: Path) -> None:
    values = report(tmp_path, PORT="8811", SITE_URL="https://cpor.example.com/")
    assert values["site_url"] == "https://cpor.example.com"


def test_a_malformed_port_is_refused(tmp_path: Path) -> None:
    result = import_settings(tmp_path, PORT="eighty")
    assert result.returncode != 0
    assert "PORT must be an integer" in result.stderr


@pytest.mark.parametrize("debug", [None, "", "false"], ids=["unset", "empty", "false"])
def test_debug_off_without_a_secret_key_refuses_to_start(tmp_path: Path, debug: str | None) -> None:
    result = import_settings(tmp_path, DEBUG=debug)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.parametrize("debug", [None, "false"], ids=["unset", "false"])
def test_debug_off_with_a_secret_key_starts(tmp_path: Path, debug: str | None) -> None:
    values = report(tmp_path, DEBUG=debug, SECRET_KEY="a-real-secret-from-the-vault")
    assert values["debug"] is False
    assert values["secret_key"] == "a-real-secret-from-the-vault"


def test_a_malformed_boolean_is_refused(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize(("raw", "message"), [("thirty", "must be an integer"), ("0", "must be at least 1")])
def test_a_lapse_period_that_is_no_number_of_days_is_refused(tmp_path: Path, raw: str, message: str) -> None:
    result = import_settings(tmp_path, CPOR_LAPSE_DAYS=raw)
    assert result.returncode != 0
    assert f"CPOR_LAPSE_DAYS {message}" in result.stderr


def test_the_lapse_period_is_thirty_days_unless_set(tmp_path: Path) -> None:
    code = "import cpor.settings as s; print(s.CPOR_LAPSE_DAYS)"
    assert import_settings(tmp_path, code).stdout.strip() == "30"
    assert import_settings(tmp_path, code, CPOR_LAPSE_DAYS="45").stdout.strip() == "45"


def test_s3_storage_without_a_bucket_refuses_to_start(tmp_path: Path) -> None:
    result = import_settings(tmp_path, STORAGE_BACKEND="s3")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_s3_storage_with_a_bucket_keeps_poe_files_there(tmp_path: Path) -> None:
    values = report(tmp_path, STORAGE_BACKEND="s3", AWS_STORAGE_BUCKET_NAME="cpor-poe")
    assert values["poe_backend"] == "storages.backends.s3.S3Storage"
    assert values["poe_bucket"] == "cpor-poe"


def test_an_unknown_storage_backend_is_refused(tmp_path: Path) -> None:
    result = import_settings(tmp_path, STORAGE_BACKEND="ftp")
    assert result.returncode != 0
    assert "STORAGE_BACKEND must be 'local' or 's3'" in result.stderr


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    values = report(tmp_path, DATABASE_URL="postgres://cpor:pw@db.internal:5432/cpor")
    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["db_host"], values["db_name"]) == ("db.internal", "cpor")


@pytest.mark.parametrize("url", ["redis://cache.internal:6379/0", "rediss://:pw@cache.internal:6380/2"])
def test_redis_url_is_the_celery_broker(tmp_path: Path, url: str) -> None:
    values = report(tmp_path, REDIS_URL=url)
    assert values["broker"] == url
    app_broker = import_settings(
        tmp_path, code="from cpor.celery import app; print(app.conf.broker_url)", REDIS_URL=url
    )
    assert app_broker.returncode == 0, app_broker.stderr
    assert app_broker.stdout.strip() == url


# ---------------------------------------------------------------------------------------------
# Production: HTTPS, headers, Content-Security-Policy, static files, `check --deploy`

SECURITY = """
import json
import cpor.settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "proxy_ssl_header": s.SECURE_PROXY_SSL_HEADER,
    "hsts_seconds": s.SECURE_HSTS_SECONDS,
    "hsts_subdomains": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "hsts_preload": s.SECURE_HSTS_PRELOAD,
    "session_cookie_secure": s.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": s.CSRF_COOKIE_SECURE,
    "x_frame_options": s.X_FRAME_OPTIONS,
    "nosniff": s.SECURE_CONTENT_TYPE_NOSNIFF,
    "referrer_policy": s.SECURE_REFERRER_POLICY,
    "csp": s.CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "middleware": s.MIDDLEWARE,
    "staticfiles": s.STORAGES["staticfiles"]["BACKEND"],
}))
"""
PRODUCTION = {"DEBUG": None, "SECRET_KEY": "x" * 64, "ALLOWED_HOSTS": "cpor.example.com"}


def security(tmp_path: Path, **env: str | None) -> dict[str, object]:
    result = import_settings(tmp_path, code=SECURITY, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_turns_every_https_protection_on(tmp_path: Path) -> None:
    values = security(tmp_path, **PRODUCTION)
    assert values["debug"] is False
    assert values["ssl_redirect"] is True
    assert values["hsts_seconds"] == 365 * 24 * 3600
    assert values["hsts_subdomains"] is True and values["hsts_preload"] is True
    assert values["session_cookie_secure"] is True and values["csrf_cookie_secure"] is True
    assert values["x_frame_options"] == "DENY"
    assert values["nosniff"] is True
    assert values["referrer_policy"] == "same-origin"
    assert values["proxy_ssl_header"] is None  # no header is trusted unless the operator names it
    assert values["staticfiles"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    middleware = values["middleware"]
    assert middleware.index("django.middleware.security.SecurityMiddleware") < middleware.index(
        "whitenoise.middleware.WhiteNoiseMiddleware"
    )
    assert "csp.middleware.CSPMiddleware" in middleware


def test_development_serves_plain_http_with_the_same_policy(tmp_path: Path) -> None:
    values = security(tmp_path, DEBUG="true")
    assert values["ssl_redirect"] is False and values["hsts_seconds"] == 0
    assert values["session_cookie_secure"] is False and values["csrf_cookie_secure"] is False
    # Developers see the violations production would have: the same CSP and frame policy.
    assert values["csp"] == security(tmp_path, **PRODUCTION)["csp"]
    assert values["x_frame_options"] == "DENY"
    assert "csp.middleware.CSPMiddleware" in values["middleware"]


def test_hsts_preload_is_a_choice_the_operator_can_undo(tmp_path: Path) -> None:
    values = security(tmp_path, **PRODUCTION, SECURE_HSTS_PRELOAD="false")
    assert values["hsts_preload"] is False and values["hsts_seconds"] == 365 * 24 * 3600


@pytest.mark.parametrize("header", ["X-Forwarded-Proto", "x-forwarded-proto"])
def test_the_proxy_header_is_trusted_only_when_named(tmp_path: Path, header: str) -> None:
    values = security(tmp_path, **PRODUCTION, SECURE_PROXY_SSL_HEADER=header)
    assert values["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_policy_allows_no_inline_script_or_style(tmp_path: Path) -> None:
    directives = security(tmp_path, **PRODUCTION)["csp"]
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    everything = " ".join(" ".join(values) for values in directives.values())
    assert "unsafe" not in everything and "nonce" not in everything and "data:" not in everything


def test_s3_previews_may_load_from_the_bucket(tmp_path: Path) -> None:
    directives = security(
        tmp_path,
        **PRODUCTION,
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME="cpor-poe",
        AWS_S3_REGION_NAME="eu-west-1",
    )["csp"]
    bucket = ["https://cpor-poe.s3.amazonaws.com", "https://cpor-poe.s3.eu-west-1.amazonaws.com"]
    assert directives["img-src"] == ["'self'", *bucket]
    assert directives["frame-src"] == ["'self'", *bucket]
    assert directives["script-src"] == ["'self'"]


CHECK_DEPLOY = """
import io
import django
from django.core.management import call_command
django.setup()
out = io.StringIO()
call_command("check", deploy=True, fail_level="DEBUG", stdout=out, stderr=out)
print(out.getvalue())
"""


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    import secrets

    result = import_settings(
        tmp_path,
        code=CHECK_DEPLOY,
        DJANGO_SETTINGS_MODULE="cpor.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="cpor.example.com",
        SITE_URL="https://cpor.example.com",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DATABASE_URL="postgres://cpor:pw@db.internal:5432/cpor",
        REDIS_URL="redis://cache.internal:6379/0",
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME="cpor-poe",
        EMAIL_HOST="smtp.internal",
    )
    # fail_level DEBUG: any message at all, warning or note, fails the command.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_names_what_development_lacks(tmp_path: Path) -> None:
    """The same check on development settings warns: the clean result above is the settings' doing."""
    result = import_settings(tmp_path, code=CHECK_DEPLOY, DJANGO_SETTINGS_MODULE="cpor.settings")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016", "security.W018"):
        assert warning in result.stderr + result.stdout
