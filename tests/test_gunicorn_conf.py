"""deploy/gunicorn.conf.py: worker count and address from the environment, and an access log that
never holds a consent, customer sign-in or password-reset token (request line, path, Referer)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import multiprocessing
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from gunicorn.config import Config

CONF = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for name in ("PORT", "BIND_HOST", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_worker_per_core_on_port_8000_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    assert conf.workers == multiprocessing.cpu_count()
    assert conf.bind == "0.0.0.0:8000"


def test_workers_and_address_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch, WEB_CONCURRENCY="5", PORT="9000", BIND_HOST="127.0.0.1")
    assert (conf.workers, conf.bind) == (5, "127.0.0.1:9000")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/consent/Xq3-secret_Token/", "/consent/…/"),
        ("/customer/sign-in/Xq3-secret_Token/", "/customer/sign-in/…/"),
        ("/accounts/reset/MTI/c3x9ab-0123456789abcdef0123/", "/accounts/reset/MTI/…/"),
        ("/accounts/reset/MTI/set-password/", "/accounts/reset/MTI/set-password/"),
        ("/claims/12/", "/claims/12/"),
    ],
)
def test_the_access_log_hides_tokens_in_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: str, logged: str
) -> None:
    conf = load(monkeypatch)
    cfg = Config()
    log_file = tmp_path / "access.log"
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", conf.access_log_format)
    logger = conf.TokenHidingLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + "?lang=tr",
        "PATH_INFO": path,
        "QUERY_STRING": "lang=tr",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": f"https://cpor.example.com{path}",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    logger.access(
        response, SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"])]), environ, dt.timedelta(0)
    )
    for handler in logger.access_log.handlers:
        handler.flush()

    line = log_file.read_text()
    assert f'"GET {logged}?lang=tr HTTP/1.1" 200 10 "https://cpor.example.com{logged}"' in line
    if logged != path:
        assert path not in line


def test_the_access_log_and_django_share_one_list_of_secret_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    from consent import logs

    conf = load(monkeypatch)
    for prefix in logs.SECRET_PATH_PREFIXES:
        line = f'"GET {prefix}SECRETTOKEN123/ HTTP/1.1" 200 "https://x{prefix}SECRETTOKEN123/"'
        assert "SECRETTOKEN123" not in conf.redact(line)
        assert "SECRETTOKEN123" not in logs.redact(line)
