"""The hosted sign-in: URLs built by the SDK, followed with httpx (page, forms, auto-login)."""

from __future__ import annotations

import httpx
import jwt

from authkit_middleware.emulator import Emulator, EmulatorServer
from tests.emulator.conftest import REDIRECT_URI, parse_page, query_of, sign_in, submit


def _url(server: EmulatorServer, **kw: object) -> str:
    client = server.workos_client()
    params = {"redirect_uri": REDIRECT_URI, "provider": "authkit", "state": "s-123", **kw}
    return client.user_management.get_authorization_url(**params)  # type: ignore[arg-type]


def test_page_renders_a_self_contained_user_picker(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    response = browser.get(_url(server))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = parse_page(response)
    assert "alice@example.com" in page.html and "bob@example.com" in page.html
    assert "admin at Acme Inc" in page.html
    assert "<script" not in page.html and "http://" not in page.html.split("</style>")[0]
    alice = server.emulator.get_user("alice@example.com")
    assert alice is not None and alice["id"] in page.user_ids
    assert response.headers["x-request-id"].startswith("req_")


def test_picking_a_user_redirects_with_code_and_state(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    page = parse_page(browser.get(_url(server)))
    bob = server.emulator.get_user("bob@example.com")
    assert bob is not None
    response = submit(browser, page, action="pick", user_id=bob["id"])
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["state"] == "s-123" and len(query["code"]) >= 20
    result = server.workos_client().user_management.authenticate_with_code(code=query["code"])
    assert result.user.email == "bob@example.com"
    assert result.organization_id is None


def test_wrong_password_rerenders_with_error_and_keeps_the_request(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    page = parse_page(browser.get(_url(server)))
    wrong = submit(browser, page, action="sign-in", email="alice@example.com", password="nope")
    assert wrong.status_code == 400
    assert "Incorrect email or password." in wrong.text
    assert 'value="alice@example.com"' in wrong.text
    again = parse_page(wrong)
    ok = submit(browser, again, action="sign-in", email="alice@example.com", password="password")
    assert ok.status_code == 302 and "code=" in ok.headers["location"]


def test_screen_hint_sign_up_creates_a_user(server: EmulatorServer, browser: httpx.Client) -> None:
    response = browser.get(_url(server, screen_hint="sign-up"))
    assert "Create your account" in response.text and 'name="first_name"' in response.text
    page = parse_page(response)
    short = submit(browser, page, action="sign-up", email="dana@example.com", password="short")
    assert short.status_code == 400 and "at least 8" in short.text
    taken = submit(browser, page, action="sign-up", email="bob@example.com", password="password1")
    assert "already exists" in taken.text
    created = submit(
        browser,
        page,
        action="sign-up",
        first_name="Dana",
        last_name="Doe",
        email="dana@example.com",
        password="correct horse",
    )
    assert created.status_code == 302
    code = query_of(created.headers["location"])["code"]
    result = server.workos_client().user_management.authenticate_with_code(code=code)
    assert (result.user.email, result.user.first_name) == ("dana@example.com", "Dana")
    assert server.emulator.get_user("dana@example.com") is not None


def test_sign_up_link_switches_screen(server: EmulatorServer, browser: httpx.Client) -> None:
    page = parse_page(browser.get(_url(server)))
    sign_up = browser.get(f"{page.action}?screen=sign-up")
    assert sign_up.status_code == 200 and "Create your account" in sign_up.text


def test_cancel_redirects_with_access_denied(server: EmulatorServer, browser: httpx.Client) -> None:
    page = parse_page(browser.get(_url(server)))
    response = browser.get(page.cancel)
    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["error"] == "access_denied" and query["state"] == "s-123"
    assert query["error_description"]
    # The pending request is gone: the form cannot be replayed.
    assert submit(browser, page, action="pick", user_id=page.user_ids[0]).status_code == 400


def test_tampered_form_token_is_refused(server: EmulatorServer, browser: httpx.Client) -> None:
    page = parse_page(browser.get(_url(server)))
    page.token = page.token[:-2] + "xx"
    response = submit(browser, page, action="pick", user_id=page.user_ids[0])
    assert response.status_code == 400 and "location" not in response.headers
    assert "tampered" in response.text


def test_bad_client_id_or_redirect_uri_is_a_page_never_a_redirect(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    client = server.workos_client()
    bad_client = client.user_management.get_authorization_url(
        redirect_uri=REDIRECT_URI, provider="authkit", client_id="client_nope"
    )
    bad_redirect = client.user_management.get_authorization_url(
        redirect_uri="https://evil.example/cb", provider="authkit"
    )
    for url, text in ((bad_client, "Invalid client ID"), (bad_redirect, "Invalid redirect URI")):
        response = browser.get(url)
        assert response.status_code == 400 and "location" not in response.headers
        assert text in response.text


def test_configured_redirect_uris_extend_the_loopback_default() -> None:
    emulator = Emulator(redirect_uris=["https://app.example/callback"], auto_login=True)
    with emulator.serve() as server, httpx.Client() as browser:
        client = server.workos_client()
        for uri in ("https://app.example/callback", "http://[::1]:8000/cb", "http://127.0.0.1/x"):
            url = client.user_management.get_authorization_url(redirect_uri=uri, provider="authkit")
            response = browser.get(url)
            assert response.status_code == 302 and response.headers["location"].startswith(uri)


def test_invalid_parameters_redirect_with_oauth_errors(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    base = server.base_url + "/user_management/authorize"
    common = {"client_id": server.client_id, "redirect_uri": REDIRECT_URI, "state": "st"}
    cases = {
        "unsupported_response_type": {"response_type": "token", "provider": "authkit"},
        "invalid_request": {
            "response_type": "code",
            "provider": "authkit",
            "code_challenge": "x" * 43,
            "code_challenge_method": "plain",
        },
        "invalid_connection_selector": {"response_type": "code"},
        "organization_invalid": {"response_type": "code", "organization_id": "org_missing"},
        "connection_invalid": {"response_type": "code", "connection_id": "conn_x"},
    }
    for error, params in cases.items():
        response = browser.get(base, params={**common, **params})
        assert response.status_code == 302, error
        query = query_of(response.headers["location"])
        assert query["error"] == error and query["state"] == "st"


def test_auto_login_signs_in_login_hint_or_first_user() -> None:
    with Emulator(auto_login=True).serve() as server, httpx.Client() as browser:
        client = server.workos_client()
        first = browser.get(_url(server))
        assert first.status_code == 302
        code = query_of(first.headers["location"])["code"]
        assert client.user_management.authenticate_with_code(code=code).user.email == (
            "alice@example.com"
        )
        hinted = browser.get(_url(server, login_hint="carol@example.com"))
        code = query_of(hinted.headers["location"])["code"]
        assert client.user_management.authenticate_with_code(code=code).user.email == (
            "carol@example.com"
        )
        unknown = browser.get(_url(server, login_hint="nobody@example.com"))
        assert query_of(unknown.headers["location"])["error"] == "access_denied"
        # prompt=login and max_age=0 force the page even in auto-login mode.
        assert browser.get(_url(server, prompt="login")).status_code == 200
        assert browser.get(_url(server, max_age=0)).status_code == 200


def test_auto_login_toggles_at_run_time(server: EmulatorServer, browser: httpx.Client) -> None:
    assert browser.get(_url(server)).status_code == 200
    server.emulator.set_auto_login(True)
    assert browser.get(_url(server)).status_code == 302
    toggled = browser.patch(
        "/_emulator/config",
        json={"auto_login": False},
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    assert toggled.json()["auto_login"] is False
    assert browser.get(_url(server)).status_code == 200


def test_login_hint_prefills_and_highlights(server: EmulatorServer, browser: httpx.Client) -> None:
    html = browser.get(_url(server, login_hint="carol@example.com")).text
    assert 'value="carol@example.com"' in html and 'class="user hint"' in html


def test_organization_scoped_sign_in(server: EmulatorServer, browser: httpx.Client) -> None:
    globex = server.emulator.get_organization("Globex")
    assert globex is not None
    url = _url(server, organization_id=globex["id"])
    page = parse_page(browser.get(url))
    assert "Continue to Globex" in page.html
    assert page.user_ids == [server.emulator.get_user("alice@example.com")["id"]]  # type: ignore[index]
    query = sign_in(browser, url)
    result = server.workos_client().user_management.authenticate_with_code(code=query["code"])
    claims = jwt.decode(result.access_token, options={"verify_signature": False})
    assert result.organization_id == globex["id"] == claims["org_id"]
    assert claims["role"] == "member" and claims["permissions"] == ["widgets:read"]

    not_member = sign_in(browser, url, email="bob@example.com")
    assert not_member["error"] == "organization_invalid" and not_member["state"] == "s-123"


def test_oauth_provider_and_sso_selectors_record_the_method() -> None:
    with Emulator(auto_login=True).serve() as server, httpx.Client() as browser:
        client = server.workos_client()
        acme = server.emulator.get_organization("Acme Inc")
        assert acme is not None
        google = browser.get(_url(server, provider="GoogleOAuth"))
        sso = browser.get(
            client.user_management.get_authorization_url(
                redirect_uri=REDIRECT_URI, organization_id=acme["id"]
            )
        )
        methods = []
        for response in (google, sso):
            code = query_of(response.headers["location"])["code"]
            result = client.user_management.authenticate_with_code(code=code)
            methods.append(str(getattr(result.authentication_method, "value", "")))
        assert methods == ["GoogleOAuth", "SSO"]
