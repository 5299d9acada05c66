"""A webhook receiver on 127.0.0.1 for tests: the `receiver` fixture (import it where it is used)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Receiver:
    """Answers with `statuses` in turn (then 204) after `delay` seconds; records each call's headers
    (lower-cased names), body and the status it answered."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    calls: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    delay: float = 0.0

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for headers, body, status in self.calls if 200 <= status < 300]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.statuses.pop(0) if state.statuses else 204
            time.sleep(state.delay)
            state.calls.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cpor"
    yield state
    server.shutdown()
    server.server_close()
