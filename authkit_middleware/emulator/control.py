"""The control API over HTTP, under ``/_emulator/...`` (JSON in, JSON out).

It mirrors the in-process methods of ``Emulator`` for tests that run the app under
test in another process, for ``authkit_middleware.testing.RemoteEmulator`` (the test
helpers against an emulator in another process) and for the CLI. It requires the
emulator's API key as a Bearer token: the control API can mint sessions, and the key
is what the app under test already has.

``ensure_membership`` and ``issue_expired_session`` are also what the in-process test
helpers call, so a helper behaves the same over HTTP and in-process.
"""

from __future__ import annotations

import hmac
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from authkit_middleware.emulator.wire import EmulatorHTTPError, code_error, unauthorized

if TYPE_CHECKING:
    from authkit_middleware.emulator.emulator import Emulator

_P = "/_emulator"

#: Largest clock offset or backdating accepted over HTTP (ten years, in seconds).
MAX_SHIFT = 10 * 366 * 86400.0

#: Serialises backdated issuance: each one swaps ``service.clock`` for its duration.
_BACKDATE_LOCK = threading.Lock()


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise code_error(422, "invalid_request_parameters", f"{name} must be a list of strings")
    return tuple(value)


def _seconds(value: Any, name: str, *, minimum: float = -MAX_SHIFT) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise code_error(422, "invalid_request_parameters", f"{name} must be a number of seconds")
    seconds = float(value)
    if not (math.isfinite(seconds) and minimum <= seconds <= MAX_SHIFT):
        raise code_error(
            422,
            "invalid_request_parameters",
            f"{name} must be between {minimum:g} and {MAX_SHIFT:g} seconds",
        )
    return seconds


def _required(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise code_error(422, "invalid_request_parameters", f"{name} is required (a string)")
    return value


# ---------------------------------------------------------------------- shared with the helpers


def ensure_membership(
    emulator: Emulator,
    user: str,
    organization: str,
    role: str | None = None,
    permissions: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Make ``user`` an active member of ``organization`` (ids, an email, a name).

    A new membership gets ``role`` (default ``"member"``) and ``permissions`` (default
    none); an existing one is reactivated and takes ``role`` and ``permissions`` only
    when they are given. Returns the membership object. Atomic under the store lock.
    """
    store = emulator.store
    with store.lock:
        found_user = store.find_user(user)
        org = store.find_organization(organization)
        if found_user is None:
            raise LookupError(f"no user with id or email {user!r}")
        if org is None:
            raise LookupError(f"no organization with id or name {organization!r}")
        for membership in store.memberships_of(found_user.id, active_only=False):
            if membership.organization_id == org.id:
                membership.status = "active"
                if role is not None:
                    membership.role = role
                    membership.roles = (role,)
                if permissions is not None:
                    membership.permissions = tuple(permissions)
                return store.membership_to_api(membership)
        return emulator.add_membership(
            found_user.id, org.id, role or "member", permissions=tuple(permissions or ())
        )


def issue_expired_session(
    emulator: Emulator,
    user: str,
    organization_id: str | None = None,
    impersonator: str | Mapping[str, Any] | None = None,
    *,
    expired_for: float,
    authentication_method: str | None = None,
) -> dict[str, Any]:
    """``Emulator.issue_session`` minted in the past: its access token expired
    ``expired_for`` seconds ago and its refresh token works, so the first request
    that carries it refreshes.

    The emulator's clock is moved back for the calling thread only (requests served
    meanwhile by other threads keep the real time), one backdated issuance at a time.
    """
    if not (math.isfinite(expired_for) and expired_for >= 0):
        raise ValueError("expired_for must be a finite number of seconds >= 0")
    service = emulator.service
    back = emulator.config.access_token_ttl + expired_for
    caller = threading.get_ident()
    with _BACKDATE_LOCK:
        real = service.clock

        def backdated() -> float:
            now = real()
            return now - back if threading.get_ident() == caller else now

        service.clock = backdated
        try:
            return emulator.issue_session(
                user,
                organization_id,
                impersonator,
                authentication_method=authentication_method,
            )
        finally:
            service.clock = real


def clock_offset(emulator: Emulator) -> float:
    """How far the emulator's clock was moved (``advance_clock``, ``POST /_emulator/clock``)."""
    from authkit_middleware.testing.helpers import ShiftedClock

    clock = emulator.service.clock
    return clock.offset if isinstance(clock, ShiftedClock) else 0.0


def set_clock_offset(emulator: Emulator, offset: float) -> None:
    """Run the emulator's clock ``offset`` seconds ahead of the clock it was built
    with (0: back to it). The same ``ShiftedClock`` the in-process helpers install."""
    from authkit_middleware.testing.helpers import ShiftedClock

    current = emulator.service.clock
    if isinstance(current, ShiftedClock):
        current.offset = offset
        clock = current
    elif offset == 0:
        return
    else:
        clock = ShiftedClock(current, offset)
    emulator.service.clock = clock
    emulator.clock = clock


class ControlAPI:
    """Routes ``/_emulator/*`` requests to an ``Emulator``'s control methods."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        routes: list[tuple[str, str, str, Callable[[Request, dict[str, Any]], Any]]] = [
            ("", "GET", "state", self.state),
            ("/users", "POST", "add_user", self.add_user),
            ("/users/<path:ref>", "GET", "get_user", self.get_user),
            ("/organizations", "POST", "add_org", self.add_organization),
            ("/organizations/<path:ref>", "GET", "get_org", self.get_organization),
            ("/memberships", "POST", "add_membership", self.add_membership),
            ("/memberships", "PUT", "ensure_membership", self.ensure_membership),
            ("/sessions", "POST", "issue_session", self.issue_session),
            ("/sessions/<session_id>/revoke", "POST", "revoke", self.revoke_session),
            ("/config", "PATCH", "config", self.config),
            ("/keys/rotate", "POST", "rotate", self.rotate_key),
            ("/keys/<kid>", "DELETE", "remove_key", self.remove_key),
            ("/failures", "POST", "add_failure", self.add_failure),
            ("/failures", "GET", "failures", self.failures),
            ("/failures", "DELETE", "clear_failures", self.clear_failures),
            ("/requests", "GET", "requests", self.requests),
            ("/requests", "DELETE", "clear_requests", self.clear_requests),
            ("/clock", "GET", "clock", self.clock),
            ("/clock", "POST", "set_clock", self.set_clock),
            ("/reset", "POST", "reset", self.reset),
        ]
        self.handlers = {endpoint: fn for _, _, endpoint, fn in routes}
        self.url_map = Map(
            [Rule(_P + path, endpoint=ep, methods=[m]) for path, m, ep, _ in routes],
            strict_slashes=False,
        )

    def __call__(self, request: Request) -> Response:
        from authkit_middleware.emulator.app import bearer_token, json_body, json_response

        token = bearer_token(request) or ""
        if not hmac.compare_digest(token.encode(), self.emulator.api_key.encode()):
            raise unauthorized()
        try:
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed):
            return json_response(
                404,
                {
                    "code": "emulator_not_implemented",
                    "message": f"No control endpoint {request.method} {request.path}",
                },
            )
        body = json_body(request) if request.method in ("POST", "PATCH", "PUT") else {}
        try:
            result = self.handlers[str(endpoint)](request, {**args, "body": body})
        except EmulatorHTTPError:
            raise
        except LookupError as exc:
            raise code_error(404, "not_found", str(exc).strip("'\"")) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise code_error(422, "invalid_request_parameters", str(exc)) from None
        return json_response(200, result)

    # ---------------------------------------------------------------- endpoints

    def state(self, request: Request, a: dict[str, Any]) -> Any:
        return self.emulator.describe()

    def add_user(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
        return self.emulator.add_user(
            b["email"],
            b.get("password", "password"),
            b.get("first_name"),
            b.get("last_name"),
            id=b.get("id"),
            email_verified=bool(b.get("email_verified", True)),
            external_id=b.get("external_id"),
            metadata=b.get("metadata"),
        )

    def get_user(self, request: Request, a: dict[str, Any]) -> Any:
        user = self.emulator.get_user(str(a["ref"]))
        if user is None:
            raise LookupError(f"no user with id or email {a['ref']!r}")
        return user

    def get_organization(self, request: Request, a: dict[str, Any]) -> Any:
        org = self.emulator.get_organization(str(a["ref"]))
        if org is None:
            raise LookupError(f"no organization with id or name {a['ref']!r}")
        return org

    def add_organization(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
        return self.emulator.add_organization(
            b["name"],
            id=b.get("id"),
            domains=_strings(b.get("domains"), "domains"),
            entitlements=_strings(b.get("entitlements"), "entitlements"),
            feature_flags=_strings(b.get("feature_flags"), "feature_flags"),
            metadata=b.get("metadata"),
            external_id=b.get("external_id"),
            require=b.get("require"),
        )

    def add_membership(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
        return self.emulator.add_membership(
            b["user"],
            b["organization"],
            b.get("role", "member"),
            roles=_strings(b.get("roles"), "roles"),
            permissions=_strings(b.get("permissions"), "permissions"),
            id=b.get("id"),
            status=b.get("status", "active"),
        )

    def ensure_membership(self, request: Request, a: dict[str, Any]) -> Any:
        """Create or update: see ``ensure_membership`` (role/permissions kept when absent)."""
        b = a["body"]
        role = b.get("role")
        if role is not None and not isinstance(role, str):
            raise code_error(422, "invalid_request_parameters", "role must be a string")
        permissions = b.get("permissions")
        return ensure_membership(
            self.emulator,
            _required(b, "user"),
            _required(b, "organization"),
            role,
            None if permissions is None else _strings(permissions, "permissions"),
        )

    def issue_session(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
        if b.get("expired_for") is not None:
            return issue_expired_session(
                self.emulator,
                b["user"],
                b.get("organization_id"),
                b.get("impersonator"),
                expired_for=_seconds(b["expired_for"], "expired_for", minimum=0.0),
                authentication_method=b.get("authentication_method"),
            )
        return self.emulator.issue_session(
            b["user"],
            organization_id=b.get("organization_id"),
            impersonator=b.get("impersonator"),
            authentication_method=b.get("authentication_method"),
        )

    def revoke_session(self, request: Request, a: dict[str, Any]) -> Any:
        if not self.emulator.revoke_session(str(a["session_id"])):
            raise LookupError(f"no session {a['session_id']!r}")
        return {"revoked": a["session_id"]}

    def config(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
        if "access_token_ttl" in b:
            self.emulator.set_access_token_ttl(int(b["access_token_ttl"]))
        if "auto_login" in b:
            self.emulator.set_auto_login(bool(b["auto_login"]))
        return self.emulator.describe()["config"]

    def rotate_key(self, request: Request, a: dict[str, Any]) -> Any:
        kid = self.emulator.rotate_signing_key()
        return {"kid": kid, "kids": self.emulator.signing_kids()}

    def remove_key(self, request: Request, a: dict[str, Any]) -> Any:
        if not self.emulator.remove_signing_key(str(a["kid"])):
            raise LookupError(f"no key {a['kid']!r}")
        return {"kids": self.emulator.signing_kids()}

    def add_failure(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
        rule = self.emulator.inject_failure(
            b["path"],
            method=b.get("method", "*"),
            status=b.get("status", 500),
            count=b.get("count", 1),
            latency=float(b.get("latency", 0.0)),
            body=b.get("body"),
            headers=b.get("headers"),
            retry_after=b.get("retry_after", "0"),
            grant_type=b.get("grant_type"),
        )
        return rule.to_dict()

    def failures(self, request: Request, a: dict[str, Any]) -> Any:
        return {"data": [r.to_dict() for r in self.emulator.faults.rules()]}

    def clear_failures(self, request: Request, a: dict[str, Any]) -> Any:
        self.emulator.clear_failures()
        return {"cleared": True}

    def requests(self, request: Request, a: dict[str, Any]) -> Any:
        q = request.args
        status = q.get("status")
        entries = self.emulator.calls(
            path=q.get("path"),
            grant_type=q.get("grant_type"),
            method=q.get("method"),
            status=int(status) if status else None,
        )
        return {"count": len(entries), "data": [e.to_dict() for e in entries]}

    def clear_requests(self, request: Request, a: dict[str, Any]) -> Any:
        self.emulator.clear_calls()
        return {"cleared": True}

    def clock(self, request: Request, a: dict[str, Any]) -> Any:
        return {"now": self.emulator.service.clock(), "offset": clock_offset(self.emulator)}

    def set_clock(self, request: Request, a: dict[str, Any]) -> Any:
        """``{"advance": seconds}`` moves the clock on; ``{"offset": seconds}`` sets how
        far ahead of real time it runs (0: real time again)."""
        b = a["body"]
        if ("advance" in b) == ("offset" in b):
            raise code_error(
                422, "invalid_request_parameters", "give either advance or offset (seconds)"
            )
        if "offset" in b:
            offset = _seconds(b["offset"], "offset")
        else:
            offset = clock_offset(self.emulator) + _seconds(b["advance"], "advance")
            _seconds(offset, "the resulting offset")
        set_clock_offset(self.emulator, offset)
        return self.clock(request, a)

    def reset(self, request: Request, a: dict[str, Any]) -> Any:
        """Back to the seed (see ``Emulator.reset``), and the clock back to real time."""
        set_clock_offset(self.emulator, 0.0)
        self.emulator.reset()
        return {"reset": True}
