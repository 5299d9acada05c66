"""PostgreSQL connections are kept between requests and run without JIT (issue 16).

The settings cases import `cpor.settings` in a fresh interpreter (tests/test_settings.py's helper),
so the environment this run was started with does not leak in. The last case opens a real
connection and asks the server what it runs with.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

from tests.test_settings import import_settings

DATABASE = """
import json
import cpor.settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "max_age": db.get("CONN_MAX_AGE", 0),
    "health_checks": db.get("CONN_HEALTH_CHECKS", False),
    "options": db.get("OPTIONS", {}),
}))
"""
POSTGRES_URL = "postgres://cpor@db.example:5432/cpor"


def database(tmp_path: Path, **env: str | None) -> dict[str, object]:
    result = import_settings(tmp_path, code=DATABASE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_connections_persist_by_default(tmp_path: Path) -> None:
    values = database(tmp_path, DATABASE_URL=POSTGRES_URL)
    assert values["max_age"] == 60
    assert values["health_checks"] is True
    assert values["options"] == {"options": "-c jit=off"}


def test_the_connection_age_follows_the_environment(tmp_path: Path) -> None:
    assert database(tmp_path, DATABASE_URL=POSTGRES_URL, DB_CONN_MAX_AGE="300")["max_age"] == 300
    assert database(tmp_path, DATABASE_URL=POSTGRES_URL, DB_CONN_MAX_AGE="0")["max_age"] == 0
    assert database(tmp_path, DATABASE_URL=POSTGRES_URL, DB_CONN_MAX_AGE="none")["max_age"] is None


@pytest.mark.parametrize("value", ["-5", "a minute"])
def test_a_malformed_connection_age_is_refused(tmp_path: Path, value: str) -> None:
    result = import_settings(tmp_path, code=DATABASE, DATABASE_URL=POSTGRES_URL, DB_CONN_MAX_AGE=value)
    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE must be" in result.stderr


def test_options_in_the_database_url_come_after_jit_off(tmp_path: Path) -> None:
    values = database(tmp_path, DATABASE_URL=POSTGRES_URL + "?options=-c%20statement_timeout%3D5000")
    assert values["options"] == {"options": "-c jit=off -c statement_timeout=5000"}


def test_sqlite_keeps_its_own_options(tmp_path: Path) -> None:
    values = database(tmp_path)
    assert values["options"] == {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    assert values["max_age"] == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_real_connection_runs_without_jit() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
