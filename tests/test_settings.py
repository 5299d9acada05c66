"""Settings come from the environment and fail loudly when production would be misconfigured.

Each case imports the settings in a fresh interpreter with a clean environment, so what this
test process was started with does not leak in.
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


def import_settings(tmp_path: Path, code: str = REPORT, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CPOR_VAR_DIR": str(tmp_path / "var"),  # settings create folders here, not in the checkout
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def report(tmp_path: Path, **env: str) -> dict[str, object]:
    result = import_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_defaults_need_no_variables(tmp_path: Path) -> None:
    values = report(tmp_path)
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


def test_debug_off_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_off_with_a_secret_key_starts(tmp_path: Path) -> None:
    values = report(tmp_path, DEBUG="false", SECRET_KEY="a-real-secret-from-the-vault")
    assert values["debug"] is False
    assert values["secret_key"] == "a-real-secret-from-the-vault"


def test_a_malformed_boolean_is_refused(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


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
