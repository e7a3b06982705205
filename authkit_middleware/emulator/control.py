"""The control API over HTTP, under ``/_emulator/...`` (JSON in, JSON out).

It mirrors the in-process methods of ``Emulator`` for tests that run the app under
test in another process, and for the CLI. It requires the emulator's API key as a
Bearer token: the control API can mint sessions, and the key is what the app under
test already has.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from authkit_middleware.emulator.wire import EmulatorHTTPError, code_error, unauthorized

if TYPE_CHECKING:
    from authkit_middleware.emulator.emulator import Emulator

_P = "/_emulator"


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise code_error(422, "invalid_request_parameters", f"{name} must be a list of strings")
    return tuple(value)


class ControlAPI:
    """Routes ``/_emulator/*`` requests to an ``Emulator``'s control methods."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        routes: list[tuple[str, str, str, Callable[[Request, dict[str, Any]], Any]]] = [
            ("", "GET", "state", self.state),
            ("/users", "POST", "add_user", self.add_user),
            ("/organizations", "POST", "add_org", self.add_organization),
            ("/memberships", "POST", "add_membership", self.add_membership),
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
        body = json_body(request) if request.method in ("POST", "PATCH") else {}
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

    def issue_session(self, request: Request, a: dict[str, Any]) -> Any:
        b = a["body"]
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

    def reset(self, request: Request, a: dict[str, Any]) -> Any:
        self.emulator.reset()
        return {"reset": True}
