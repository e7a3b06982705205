"""The WSGI application: routing, request parsing and response rendering.

Handlers are thin: they read the request, call ``Service`` and render. Cross-cutting
concerns live in ``EmulatorApp.__call__``: every answer gets an ``X-Request-ID``,
injected failures are applied before routing, every served request is journaled,
and unknown routes answer an unmistakable ``emulator_not_implemented`` 404.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from authkit_middleware.emulator import pages
from authkit_middleware.emulator.faults import Faults
from authkit_middleware.emulator.ids import ulid_like
from authkit_middleware.emulator.journal import Journal, RequestRecord
from authkit_middleware.emulator.service import PageError, Redirect, Service, ShowPage
from authkit_middleware.emulator.wire import EmulatorHTTPError, code_error, unauthorized

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

AUTHENTICATE_PATH = "/user_management/authenticate"
CONTROL_PREFIX = "/_emulator"
#: Request bodies above this are refused (the SDK never sends more than a few KB).
MAX_BODY = 1 << 20

Handler = Callable[[Request, dict[str, Any]], Response]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (compact, UTF-8)."""
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def html_response(status: int, html: str, form_redirect_to: str | None = None) -> Response:
    """An HTML page that must not be cached or framed.

    ``form_redirect_to``: the redirect URI its forms end up at. Browsers apply
    ``form-action`` to the redirects after a submission too, so with ``'self'`` only
    the 302 to the app's callback would be blocked (Chromium does).
    """
    form_action = "'self'"
    if form_redirect_to:
        parts = urlsplit(form_redirect_to)
        if parts.scheme in ("http", "https") and parts.netloc:
            form_action += f" {parts.scheme}://{parts.netloc}"
    return Response(
        html,
        status=status,
        content_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            f"form-action {form_action}; frame-ancestors 'none'",
        },
    )


def redirect(location: str) -> Response:
    """A 302 that is never cached."""
    return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})


def bearer_token(request: Request) -> str | None:
    """The ``Authorization: Bearer`` value, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object body (form-encoded bodies are tolerated too)."""
    if request.content_length and request.content_length > MAX_BODY:
        raise code_error(413, "payload_too_large", "Request body too large.")
    if request.mimetype == "application/x-www-form-urlencoded":
        return dict(request.form.items())
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise code_error(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise code_error(400, "invalid_json", "The request body must be a JSON object.")
    return data


_ORDERS = ("asc", "desc", "normal")


def list_options(request: Request) -> tuple[str, int]:
    """``order`` and ``limit`` of a list request, validated as WorkOS does (422).

    ``normal`` is served as ``desc`` (the default order); its reversed cursors are
    not emulated.
    """
    order = request.args.get("order", "desc")
    if order not in _ORDERS:
        raise code_error(422, "invalid_request_parameters", "order must be asc, desc or normal.")
    try:
        limit = int(request.args.get("limit", "10"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise code_error(422, "invalid_request_parameters", "limit must be between 1 and 100.")
    return order, limit


def list_page(
    request: Request, items: list[Any], ids: list[str], limit: int
) -> tuple[list[Any], dict[str, str | None]]:
    """One page of ``items`` (already in the order asked for; ``ids`` are their ids)
    from the ``before``/``after`` cursors, and its ``list_metadata``: the SDK's
    ``auto_paging_iter`` follows ``after`` until it is null."""
    before, after = request.args.get("before"), request.args.get("after")
    if before:
        end = ids.index(before) if before in ids else 0
        start = max(0, end - limit)
    else:
        start = ids.index(after) + 1 if after in ids else (len(ids) if after else 0)
        end = start + limit
    page = items[start:end]
    page_ids = ids[start:end]
    metadata = {
        "before": page_ids[0] if page_ids and start > 0 else None,
        "after": page_ids[-1] if page_ids and end < len(ids) else None,
    }
    return page, metadata


def list_response(data: list[dict[str, Any]], metadata: dict[str, str | None]) -> Response:
    """The list envelope: ``{object: "list", data, list_metadata: {before, after}}``."""
    return json_response(200, {"object": "list", "data": data, "list_metadata": metadata})


class EmulatorApp:
    """The emulator as a WSGI callable."""

    def __init__(
        self,
        service: Service,
        journal: Journal,
        faults: Faults,
        control: Callable[[Request], Response],
        stopping: threading.Event,
    ) -> None:
        self.service = service
        self.journal = journal
        self.faults = faults
        self.control = control
        self.stopping = stopping
        self.handlers: dict[str, Handler] = {
            "health": self.health,
            "authorize": self.authorize,
            "page": self.page,
            "cancel": self.cancel,
            "authenticate": self.authenticate,
            "jwks": self.jwks,
            "logout": self.logout,
            "revoke": self.revoke,
            "user": self.user,
            "organizations": self.organizations,
            "organization": self.organization,
            "memberships": self.memberships,
            "membership": self.membership,
        }
        self.url_map = Map(
            [
                Rule("/health", endpoint="health", methods=["GET"]),
                Rule("/user_management/authorize", endpoint="authorize", methods=["GET"]),
                Rule("/authkit/<request_id>", endpoint="page", methods=["GET", "POST"]),
                Rule("/authkit/<request_id>/cancel", endpoint="cancel", methods=["GET"]),
                Rule(AUTHENTICATE_PATH, endpoint="authenticate", methods=["POST"]),
                Rule("/sso/jwks/<client_id>", endpoint="jwks", methods=["GET"]),
                Rule("/user_management/sessions/logout", endpoint="logout", methods=["GET"]),
                Rule("/user_management/sessions/revoke", endpoint="revoke", methods=["POST"]),
                Rule("/user_management/users/<user_id>", endpoint="user", methods=["GET"]),
                Rule("/organizations", endpoint="organizations", methods=["GET"]),
                Rule("/organizations/<org_id>", endpoint="organization", methods=["GET"]),
                Rule(
                    "/user_management/organization_memberships",
                    endpoint="memberships",
                    methods=["GET"],
                ),
                Rule(
                    "/user_management/organization_memberships/<membership_id>",
                    endpoint="membership",
                    methods=["GET"],
                ),
            ],
            strict_slashes=False,
        )

    # ------------------------------------------------------------------ plumbing

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        started = time.time()
        request_id = f"req_{ulid_like()}"
        if self.service.base_url is None:
            self.service.base_url = request.host_url.rstrip("/")
        injected = False
        grant_type = None
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            response = self._safely(lambda: self.control(request))
        else:
            if request.path == AUTHENTICATE_PATH and request.method == "POST":
                grant_type = self._grant_type(request)
            rule = self.faults.take(request.method, request.path, grant_type)
            if rule is not None and rule.latency:
                self.stopping.wait(rule.latency)  # returns early when the server stops
            if rule is not None and rule.status is not None:
                injected = True
                response = json_response(rule.status, rule.response_body(), rule.response_headers())
            else:
                response = self._safely(lambda: self.dispatch(request))
            self.journal.record(
                RequestRecord(
                    method=request.method,
                    path=request.path,
                    status=response.status_code,
                    time=started,
                    duration=time.time() - started,
                    request_id=request_id,
                    grant_type=grant_type,
                    injected=injected,
                )
            )
        response.headers["X-Request-ID"] = request_id
        return response(environ, start_response)

    @staticmethod
    def _grant_type(request: Request) -> str | None:
        try:
            grant = json_body(request).get("grant_type")
        except EmulatorHTTPError:
            return None
        return grant if isinstance(grant, str) else None

    def _safely(self, produce: Callable[[], Response]) -> Response:
        try:
            return produce()
        except EmulatorHTTPError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        except PageError as exc:
            return html_response(exc.status, pages.error_page(exc.title, exc.message))
        except Exception as exc:  # a bug in the emulator must not look like a WorkOS answer
            traceback.print_exc()
            return json_response(
                500,
                {
                    "code": "emulator_internal_error",
                    "message": f"authkit-middleware emulator error: {type(exc).__name__}: {exc}",
                },
            )

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed):
            return json_response(
                404,
                {
                    "code": "emulator_not_implemented",
                    "message": (
                        "The authkit-middleware emulator does not implement "
                        f"{request.method} {request.path}"
                    ),
                },
            )
        return self.handlers[str(endpoint)](request, dict(args))

    def _require_api_key(self, request: Request) -> None:
        token = bearer_token(request)
        if token is None or not _equal(token, self.service.config.api_key):
            raise unauthorized()

    # ------------------------------------------------------------------ handlers

    def health(self, request: Request, args: dict[str, Any]) -> Response:
        return json_response(200, {"status": "ok", "emulator": "authkit-middleware"})

    def authorize(self, request: Request, args: dict[str, Any]) -> Response:
        outcome = self.service.begin_authorization(dict(request.args.items()))
        return self._render(outcome)

    def page(self, request: Request, args: dict[str, Any]) -> Response:
        request_id = str(args["request_id"])
        if request.method == "GET":
            pending = self.service.pending(request_id)
            screen = request.args.get("screen", pending.screen_hint)
            screen = screen if screen in ("sign-in", "sign-up") else "sign-in"
            return self._render(ShowPage(pending, screen=screen))
        form = dict(request.form.items())
        if form.get("request", request_id) != request_id:
            raise PageError(400, "Invalid form", "The form was tampered with.")
        outcome = self.service.submit(request_id, form.get("token", ""), form)
        return self._render(outcome)

    def cancel(self, request: Request, args: dict[str, Any]) -> Response:
        outcome = self.service.cancel(str(args["request_id"]), request.args.get("token", ""))
        return self._render(outcome)

    def _render(self, outcome: Redirect | ShowPage) -> Response:
        if isinstance(outcome, Redirect):
            return redirect(outcome.location)
        pending = outcome.pending
        org = (
            self.service.store.find_organization(pending.organization_id)
            if pending.organization_id
            else None
        )
        users = []
        for user in self.service.page_users(pending):
            record = user.to_api()
            roles = [
                f"{m.role} at {self.service.store.organizations[m.organization_id].name}"
                for m in self.service.store.memberships_of(user.id)
                if m.organization_id in self.service.store.organizations
            ]
            users.append(
                pages.PickerUser(
                    id=user.id,
                    email=user.email,
                    name=record["name"] or user.email,
                    detail=", ".join(roles),
                )
            )
        urls = pages.page_urls(pending.id, pending.form_token)
        screen = outcome.screen
        html = pages.sign_in_page(
            action_url=urls["action"],
            request_id=pending.id,
            form_token=pending.form_token,
            cancel_url=urls["cancel"],
            switch_url=urls["sign-in" if screen == "sign-up" else "sign-up"],
            screen=screen,
            users=users,
            organization_name=org.name if org else None,
            login_hint=pending.login_hint,
            error=outcome.error,
            values=dict(outcome.values) or {"email": pending.login_hint or ""},
        )
        return html_response(outcome.status, html, pending.redirect_uri)

    def authenticate(self, request: Request, args: dict[str, Any]) -> Response:
        body = json_body(request)
        return json_response(200, self.service.authenticate(body, bearer_token(request)))

    def jwks(self, request: Request, args: dict[str, Any]) -> Response:
        client_id = str(args["client_id"])
        if client_id != self.service.config.client_id:
            return json_response(404, {"message": f"Client '{client_id}' not found."})
        return json_response(200, self.service.keys.jwks())

    def logout(self, request: Request, args: dict[str, Any]) -> Response:
        target = self.service.logout(request.args.get("session_id"), request.args.get("return_to"))
        if target is not None:
            return redirect(target)
        return html_response(200, pages.signed_out_page())

    def revoke(self, request: Request, args: dict[str, Any]) -> Response:
        self._require_api_key(request)
        self.service.revoke(json_body(request).get("session_id"))
        return json_response(200, {})

    def user(self, request: Request, args: dict[str, Any]) -> Response:
        self._require_api_key(request)
        user_id = str(args["user_id"])
        with self.service.store.lock:
            user = self.service.store.users.get(user_id)
            if user is None:
                return json_response(404, {"message": f"User not found: '{user_id}'."})
            return json_response(200, user.to_api())

    def organization(self, request: Request, args: dict[str, Any]) -> Response:
        self._require_api_key(request)
        org_id = str(args["org_id"])
        with self.service.store.lock:
            org = self.service.store.organizations.get(org_id)
            if org is None:
                return json_response(404, {"message": f"Organization not found: '{org_id}'."})
            return json_response(200, org.to_api())

    def organizations(self, request: Request, args: dict[str, Any]) -> Response:
        """``GET /organizations`` (``list_organizations``): in creation order, newest
        first unless ``order=asc``; ``domains`` (comma-joined by the SDK) keeps the
        organisations holding any of them, ``search`` matches the name."""
        self._require_api_key(request)
        order, limit = list_options(request)
        domains = {d.strip().lower() for d in request.args.get("domains", "").split(",")}
        domains.discard("")
        search = request.args.get("search", "").strip().lower()
        with self.service.store.lock:
            items = [
                org
                for org in self.service.store.organizations.values()
                if (not domains or domains & {d.lower() for d in org.domains})
                and (not search or search in org.name.lower())
            ]
            if order != "asc":
                items.reverse()
            page, metadata = list_page(request, items, [o.id for o in items], limit)
            data = [org.to_api() for org in page]
        return list_response(data, metadata)

    def membership(self, request: Request, args: dict[str, Any]) -> Response:
        self._require_api_key(request)
        membership_id = str(args["membership_id"])
        with self.service.store.lock:
            m = self.service.store.memberships.get(membership_id)
            if m is None:
                return json_response(
                    404, {"message": f"Organization membership not found: '{membership_id}'."}
                )
            return json_response(200, self.service.store.membership_to_api(m))

    def memberships(self, request: Request, args: dict[str, Any]) -> Response:
        self._require_api_key(request)
        q = request.args
        user_id, org_id = q.get("user_id"), q.get("organization_id")
        if not user_id and not org_id:
            raise code_error(
                400,
                "missing_user_id_or_organization_id",
                "Either user_id or organization_id must be provided.",
            )
        statuses = {s for s in q.get("statuses", "active").split(",") if s} or {"active"}
        if not statuses <= {"active", "inactive", "pending"}:
            raise code_error(422, "invalid_request_parameters", "Invalid statuses.")
        order, limit = list_options(request)
        store = self.service.store
        with store.lock:
            items = [
                m
                for m in store.iter_memberships()
                if (not user_id or m.user_id == user_id)
                and (not org_id or m.organization_id == org_id)
                and m.status in statuses
                and m.user_id in store.users
            ]
            if order != "asc":
                items.reverse()
            page, metadata = list_page(request, items, [m.id for m in items], limit)
            data = [store.membership_to_api(m) for m in page]
        return list_response(data, metadata)


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
