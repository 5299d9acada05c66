"""The Partner API's docs page loads from the local server only (no CDN) and keeps to the CSP."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_load_locally_within_the_csp(live_server: Any, page: Any) -> None:
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(
        'document.addEventListener("securitypolicyviolation", e => console.error('
        '"Content Security Policy: " + e.violatedDirective + " " + e.blockedURI));'
    )
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    assert "/api/v1/claims" in page.inner_text("#swagger-ui")
    page.wait_for_load_state("networkidle")
    assert requests and all(url.startswith(live_server.url) or url.startswith("data:") for url in requests), (
        requests
    )
    assert problems == []
