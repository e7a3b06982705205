"""Shared helpers for the emulator suite: a browser-ish walk through the hosted page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authkit_test_support.environment import (
    WORKOS_CLIENT_VARIABLES,
    clear_workos_env,
    loopback_without_proxy,
)

from authkit_middleware.emulator import Emulator, EmulatorServer

REDIRECT_URI = "http://localhost:3000/callback"


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx and urllib honour proxy variables; loopback must never go through one."""
    loopback_without_proxy(monkeypatch)
    clear_workos_env(monkeypatch, WORKOS_CLIENT_VARIABLES)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


@pytest.fixture
def server(emulator: Emulator) -> Iterator[EmulatorServer]:
    with emulator.serve() as running:
        yield running


@pytest.fixture
def browser(server: EmulatorServer) -> Iterator[httpx.Client]:
    """An HTTP client that does not follow redirects (we inspect each 302)."""
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=5) as client:
        yield client


@dataclass
class Page:
    """The hosted sign-in page, parsed just enough to submit its forms."""

    status: int
    html: str
    action: str
    request_id: str
    token: str
    cancel: str
    user_ids: list[str]


def parse_page(response: httpx.Response) -> Page:
    html = response.text
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    request_id = re.search(r'name="request" value="([^"]+)"', html)
    token = re.search(r'name="token" value="([^"]+)"', html)
    cancel = re.search(r'<a class="cancel" href="([^"]+)"', html)
    assert action and request_id and token and cancel, html
    return Page(
        status=response.status_code,
        html=html,
        action=unescape(action.group(1)),
        request_id=unescape(request_id.group(1)),
        token=unescape(token.group(1)),
        cancel=unescape(cancel.group(1)),
        user_ids=[unescape(u) for u in re.findall(r'data-user-id="([^"]+)"', html)],
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def submit(browser: httpx.Client, page: Page, **fields: str) -> httpx.Response:
    data = {"request": page.request_id, "token": page.token, **fields}
    return browser.post(page.action, data=data)


def sign_in(browser: httpx.Client, url: str, email: str = "alice@example.com") -> dict[str, str]:
    """Open an authorize URL, pick ``email`` in the user picker, return the callback query."""
    response = browser.get(url)
    assert response.status_code == 200, response.text
    page = parse_page(response)
    picked = submit(browser, page, action="sign-in", email=email, password="password")
    assert picked.status_code == 302, picked.text
    return query_of(picked.headers["location"])
