"""The emulated AuthKit behaviour: sign-in flows, grants, sessions and tokens.

Everything here is independent of HTTP: handlers in ``app.py`` parse requests,
call these methods and render the results (JSON, redirects, pages), and the
in-process control API calls the same methods. Errors are raised as
``EmulatorHTTPError`` (JSON APIs) or ``PageError`` (the browser-facing pages).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authkit_middleware.emulator.config import CODE_TTL, EmulatorConfig
from authkit_middleware.emulator.ids import opaque_token, random_id, stable_id, ulid_like
from authkit_middleware.emulator.store import (
    CodeRecord,
    MembershipRecord,
    PendingAuthentication,
    PendingAuthorization,
    RefreshRecord,
    SessionRecord,
    Store,
    UserRecord,
)
from authkit_middleware.emulator.tokens import KeyRing
from authkit_middleware.emulator.wire import (
    EmulatorHTTPError,
    code_error,
    message_error,
    oauth_error,
    unauthorized,
)

GRANT_CODE = "authorization_code"
GRANT_REFRESH = "refresh_token"
GRANT_PASSWORD = "password"
GRANT_ORG_SELECTION = "urn:workos:oauth:grant-type:organization-selection"

#: OAuth providers AuthKit can start with; the emulator signs in a seeded user for each.
OAUTH_PROVIDERS = frozenset(
    {
        "AppleOAuth",
        "BitbucketOAuth",
        "GitHubOAuth",
        "GitLabOAuth",
        "GoogleOAuth",
        "IntuitOAuth",
        "LinkedInOAuth",
        "MicrosoftOAuth",
        "SalesforceOAuth",
        "SlackOAuth",
        "VercelMarketplaceOAuth",
        "VercelOAuth",
        "XeroOAuth",
    }
)
_FORCE_PROMPTS = frozenset({"login", "consent", "select_account"})
MIN_PASSWORD_LENGTH = 8


class PageError(Exception):
    """A browser-facing error shown as an HTML page (never a redirect)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``location`` (302)."""

    location: str


@dataclass(frozen=True)
class ShowPage:
    """Render the hosted sign-in page for a pending authorization."""

    pending: PendingAuthorization
    screen: str = "sign-in"
    error: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


def with_query(url: str, params: Mapping[str, str | None]) -> str:
    """``url`` with ``params`` appended to its query (None values dropped)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


class Service:
    """Flows over one ``Store``, ``KeyRing`` and ``EmulatorConfig``."""

    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        config: EmulatorConfig,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.keys = keys
        self.config = config
        self.clock = clock
        #: Set by the server when serving, so tokens minted in-process get the right ``iss``.
        self.base_url: str | None = None

    # ================================================================ authorize (browser)

    def begin_authorization(self, params: Mapping[str, str]) -> Redirect | ShowPage:
        """``GET /user_management/authorize``: validate, then redirect or show the page."""
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != self.config.client_id:
            raise PageError(
                400,
                "Invalid client ID",
                f"The client ID {client_id!r} is not registered with this environment.",
            )
        if not redirect_uri or not self.config.redirect_allowed(redirect_uri):
            raise PageError(
                400,
                "Invalid redirect URI",
                f"The redirect URI {redirect_uri!r} is not allowed for this client. "
                "The emulator accepts loopback URLs (localhost, 127.0.0.1, [::1]) and "
                "the configured redirect URIs.",
            )
        state = params.get("state")

        def fail(error: str, description: str) -> Redirect:
            return Redirect(
                with_query(
                    redirect_uri,
                    {"error": error, "error_description": description, "state": state},
                )
            )

        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "response_type must be 'code'.")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None or method is not None:
            if method != "S256":
                return fail("invalid_request", "code_challenge_method must be 'S256'.")
            if not challenge or not 43 <= len(challenge) <= 128:
                return fail("invalid_request", "code_challenge must be 43-128 characters.")
        screen = params.get("screen_hint") or "sign-in"
        if screen not in ("sign-in", "sign-up"):
            return fail("invalid_request", "screen_hint must be 'sign-in' or 'sign-up'.")
        max_age: int | None = None
        if "max_age" in params:
            try:
                max_age = int(params["max_age"])
            except ValueError:
                max_age = -1
            if max_age < 0:
                return fail("invalid_request", "max_age must be a non-negative integer.")

        provider = params.get("provider")
        organization_id = params.get("organization_id") or None
        connection_id = params.get("connection_id") or None
        if connection_id:
            if provider or organization_id:
                return fail("ambiguous_connection_selector", "Use one connection selector.")
            return fail("connection_invalid", f"No connection {connection_id!r} (emulator).")
        if provider is None:
            if organization_id is None:
                return fail(
                    "invalid_connection_selector",
                    "provider, connection_id or organization_id is required.",
                )
            method_name = "SSO"
        elif provider == "authkit":
            method_name = "Password"
        elif provider in OAUTH_PROVIDERS:
            if organization_id:
                return fail("ambiguous_connection_selector", "Use one connection selector.")
            method_name = provider
        else:
            return fail("invalid_connection_selector", f"Unknown provider {provider!r}.")
        if organization_id and self.store.find_organization(organization_id) is None:
            return fail("organization_invalid", f"No organization {organization_id!r}.")

        now = self.clock()
        pending = PendingAuthorization(
            id=opaque_token(18),
            form_token=opaque_token(18),
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            organization_id=organization_id,
            login_hint=params.get("login_hint") or None,
            screen_hint=screen,
            authentication_method=method_name,
            prompt=params.get("prompt") or None,
            max_age=max_age,
            expires_at=now + CODE_TTL,
        )
        forced = pending.prompt in _FORCE_PROMPTS or max_age == 0
        if self.config.auto_login and not forced:
            return self._auto_login(pending)
        with self.store.lock:
            self.store.purge_expired(now)
            self.store.pending_authorizations[pending.id] = pending
        return ShowPage(pending, screen=screen, values={"email": pending.login_hint or ""})

    def _auto_login(self, pending: PendingAuthorization) -> Redirect:
        """Sign in the ``login_hint`` user (else the first one) with no page."""
        if pending.login_hint:
            user = self.store.find_user(pending.login_hint)
            if user is None:
                return self._deny(
                    pending, f"No user matches login_hint {pending.login_hint!r} (emulator)."
                )
        else:
            candidates = self.page_users(pending)
            if not candidates:
                return self._deny(pending, "The emulator has no user to sign in.")
            user = candidates[0]
        return self._complete(pending, user, pending.authentication_method)

    def pending(self, request_id: str, form_token: str | None = None) -> PendingAuthorization:
        """A live pending sign-in; with ``form_token``, also check the form's token."""
        with self.store.lock:
            pending = self.store.pending_authorizations.get(request_id)
        if pending is None or pending.expires_at < self.clock():
            raise PageError(
                400,
                "Sign-in expired",
                "This sign-in request is unknown or has expired. Start again from the app.",
            )
        if form_token is not None and not hmac.compare_digest(
            form_token.encode(), pending.form_token.encode()
        ):
            raise PageError(400, "Invalid form", "The form was tampered with or is stale.")
        return pending

    def page_users(self, pending: PendingAuthorization) -> list[UserRecord]:
        """Users offered in the picker: the org's members when org-scoped, else all."""
        with self.store.lock:
            users = list(self.store.users.values())
        if pending.organization_id:
            users = [u for u in users if self.store.membership(u.id, pending.organization_id)]
        return users

    def submit(
        self, request_id: str, form_token: str, form: Mapping[str, str]
    ) -> Redirect | ShowPage:
        """The hosted page's form post: pick a user, sign in or sign up."""
        pending = self.pending(request_id, form_token)
        action = form.get("action", "")
        if action == "pick":
            user = self.store.find_user(form.get("user_id", ""))
            if user is None:
                return ShowPage(pending, error="That user no longer exists.", status=400)
            return self._complete(pending, user, pending.authentication_method)
        if action == "sign-in":
            email = form.get("email", "").strip()
            user = self.store.find_user(email) if email else None
            password = form.get("password", "")
            if (
                user is None
                or user.password is None
                or not hmac.compare_digest(user.password.encode(), password.encode())
            ):
                return ShowPage(
                    pending,
                    error="Incorrect email or password.",
                    values={"email": email},
                    status=400,
                )
            return self._complete(pending, user, pending.authentication_method)
        if action == "sign-up":
            return self._sign_up(pending, form)
        raise PageError(400, "Invalid form", f"Unknown action {action!r}.")

    def _sign_up(
        self, pending: PendingAuthorization, form: Mapping[str, str]
    ) -> Redirect | ShowPage:
        values = {k: form.get(k, "").strip() for k in ("first_name", "last_name", "email")}
        email, password = values["email"], form.get("password", "")
        error = None
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            error = "Enter a valid email address."
        elif len(password) < MIN_PASSWORD_LENGTH:
            error = f"Use a password of at least {MIN_PASSWORD_LENGTH} characters."
        elif self.store.find_user(email) is not None:
            error = "An account with this email already exists. Sign in instead."
        if error:
            return ShowPage(pending, screen="sign-up", error=error, values=values, status=400)
        user = self.add_user(
            email=email,
            password=password,
            first_name=values["first_name"] or None,
            last_name=values["last_name"] or None,
        )
        org_id = pending.organization_id
        if org_id:
            org = self.store.find_organization(org_id)
            domain = email.rsplit("@", 1)[1].lower()
            if org is not None and domain in (d.lower() for d in org.domains):
                self.add_membership(user.id, org.id)  # JIT provisioning by verified domain
        return self._complete(pending, user, "Password")

    def cancel(self, request_id: str, form_token: str) -> Redirect:
        """The "Cancel" link: back to the app with ``access_denied``."""
        pending = self.pending(request_id, form_token)
        return self._deny(pending, "The user cancelled the sign-in.")

    def _deny(self, pending: PendingAuthorization, description: str) -> Redirect:
        with self.store.lock:
            self.store.pending_authorizations.pop(pending.id, None)
        return Redirect(
            with_query(
                pending.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": description,
                    "state": pending.state,
                },
            )
        )

    def _complete(self, pending: PendingAuthorization, user: UserRecord, method: str) -> Redirect:
        """Finish a sign-in: issue a code and send the browser back to the app."""
        now = self.clock()
        with self.store.lock:
            self.store.pending_authorizations.pop(pending.id, None)
            if pending.organization_id and not self.store.membership(
                user.id, pending.organization_id
            ):
                return Redirect(
                    with_query(
                        pending.redirect_uri,
                        {
                            "error": "organization_invalid",
                            "error_description": (
                                f"{user.email} is not a member of organization "
                                f"{pending.organization_id!r}."
                            ),
                            "state": pending.state,
                        },
                    )
                )
            user.last_sign_in_at = now
            code = CodeRecord(
                code=opaque_token(18),
                client_id=pending.client_id,
                redirect_uri=pending.redirect_uri,
                user_id=user.id,
                organization_id=pending.organization_id,
                code_challenge=pending.code_challenge,
                authentication_method=method,
                auth_time=int(now),
                expires_at=now + CODE_TTL,
            )
            self.store.codes[code.code] = code
        return Redirect(
            with_query(pending.redirect_uri, {"code": code.code, "state": pending.state})
        )

    # ============================================================ authenticate (JSON API)

    def authenticate(self, body: Mapping[str, Any], bearer: str | None) -> dict[str, Any]:
        """``POST /user_management/authenticate`` for every supported grant."""
        if bearer is not None and not _same(bearer, self.config.api_key):
            raise unauthorized()
        grant = body.get("grant_type")
        client_id = body.get("client_id")
        if not isinstance(grant, str) or not grant:
            raise oauth_error(400, "invalid_request", "grant_type is required.")
        if not isinstance(client_id, str) or not client_id:
            raise oauth_error(400, "invalid_request", "client_id is required.")
        if client_id != self.config.client_id:
            raise oauth_error(400, "invalid_client", f"Invalid client ID '{client_id}'.")
        secret = body.get("client_secret")
        if secret is not None and not (
            isinstance(secret, str) and _same(secret, self.config.api_key)
        ):
            raise oauth_error(400, "invalid_client", "Invalid client secret.")
        authenticated = secret is not None or bearer is not None
        if grant == GRANT_CODE:
            return self._grant_code(body, authenticated)
        if grant == GRANT_REFRESH:
            return self._grant_refresh(body)
        if grant == GRANT_ORG_SELECTION:
            return self._grant_org_selection(body, authenticated)
        if grant == GRANT_PASSWORD:
            return self._grant_password(body, authenticated)
        raise EmulatorHTTPError(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": (
                    f"The authkit-middleware emulator does not implement grant_type {grant!r}."
                ),
                "code": "emulator_not_implemented",
            },
        )

    def _grant_code(self, body: Mapping[str, Any], authenticated: bool) -> dict[str, Any]:
        code_value = body.get("code")
        if not isinstance(code_value, str) or not code_value:
            raise oauth_error(400, "invalid_request", "code is required.")
        verifier = body.get("code_verifier")
        invalid = oauth_error(
            400, "invalid_grant", f"The code '{code_value}' has expired or is invalid."
        )
        with self.store.lock:
            code = self.store.codes.get(code_value)
            if code is None or code.used or code.expires_at < self.clock():
                raise invalid
            if code.client_id != body.get("client_id"):
                raise invalid
            if code.code_challenge is None:
                if not authenticated:
                    raise oauth_error(
                        400,
                        "invalid_client",
                        "client_secret is required unless the code was issued with PKCE.",
                    )
                if verifier is not None:
                    code.used = True
                    raise code_error(
                        400,
                        "code_challenge_not_found",
                        "A code_verifier was sent but the authorization had no code_challenge.",
                    )
            else:
                if not isinstance(verifier, str) or not verifier:
                    code.used = True  # a failed PKCE check burns the code
                    raise oauth_error(400, "invalid_grant", "code_verifier is required (PKCE).")
                if not _same(pkce_challenge(verifier), code.code_challenge):
                    code.used = True
                    raise oauth_error(400, "invalid_grant", "Invalid code verifier.")
            code.used = True
            user = self.store.users.get(code.user_id)
            if user is None:
                raise message_error(404, f"User not found: '{code.user_id}'.")
            organization_id = self._session_organization(
                user, code.organization_id, code.authentication_method, code.auth_time, None
            )
            return self._start_session(
                user, organization_id, code.authentication_method, code.auth_time, None
            )

    def _grant_password(self, body: Mapping[str, Any], authenticated: bool) -> dict[str, Any]:
        if not authenticated:
            raise oauth_error(400, "invalid_client", "client_secret is required.")
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise oauth_error(400, "invalid_request", "email and password are required.")
        with self.store.lock:
            user = self.store.find_user(email)
            if user is None or user.password is None or not _same(password, user.password):
                raise code_error(400, "invalid_credentials", "Invalid credentials.")
            now = self.clock()
            user.last_sign_in_at = now
            org = self._session_organization(user, None, "Password", int(now), None)
            return self._start_session(user, org, "Password", int(now), None)

    def _grant_refresh(self, body: Mapping[str, Any]) -> dict[str, Any]:
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise oauth_error(400, "invalid_request", "refresh_token is required.")
        wanted_org = body.get("organization_id")
        if wanted_org is not None and not isinstance(wanted_org, str):
            raise oauth_error(400, "invalid_request", "organization_id must be a string.")
        with self.store.lock:
            record = self.store.refresh_tokens.get(token)
            session = self.store.sessions.get(record.session_id) if record else None
            if record is None or record.used or session is None or not session.active:
                raise oauth_error(400, "invalid_grant", "Invalid refresh token.")
            user = self.store.users.get(session.user_id)
            if user is None:
                raise oauth_error(400, "invalid_grant", "Invalid refresh token.")
            if wanted_org and wanted_org != session.organization_id:
                self._check_org_access(
                    user,
                    wanted_org,
                    session.authentication_method,
                    session.auth_time,
                    session.impersonator,
                )
                session.organization_id = wanted_org
            elif session.organization_id and not self.store.membership(
                user.id, session.organization_id
            ):
                session.organization_id = None  # membership removed since sign-in
            record.used = True
            return self._respond(session)

    def _grant_org_selection(self, body: Mapping[str, Any], authenticated: bool) -> dict[str, Any]:
        if not authenticated:
            raise oauth_error(400, "invalid_client", "client_secret is required.")
        token, org_id = body.get("pending_authentication_token"), body.get("organization_id")
        if not isinstance(token, str) or not isinstance(org_id, str) or not org_id:
            raise oauth_error(
                400,
                "invalid_request",
                "pending_authentication_token and organization_id are required.",
            )
        with self.store.lock:
            pending = self.store.pending_authentications.get(token)
            if pending is None or pending.used or pending.expires_at < self.clock():
                raise code_error(
                    400,
                    "invalid_pending_authentication_token",
                    "The pending authentication token is invalid or has expired.",
                )
            user = self.store.users.get(pending.user_id)
            if user is None:
                raise message_error(404, f"User not found: '{pending.user_id}'.")
            self._check_org_access(
                user, org_id, pending.authentication_method, pending.auth_time, pending.impersonator
            )
            pending.used = True
            return self._start_session(
                user, org_id, pending.authentication_method, pending.auth_time, pending.impersonator
            )

    # ================================================================ sessions and tokens

    def _session_organization(
        self,
        user: UserRecord,
        requested: str | None,
        method: str,
        auth_time: int,
        impersonator: dict[str, Any] | None,
    ) -> str | None:
        """The org a new session is scoped to (may raise a step-up or selection error).

        With no org requested, a user with memberships is scoped to the first one
        that needs no step-up, as AuthKit scopes single-org users automatically.
        """
        if requested:
            self._check_org_access(user, requested, method, auth_time, impersonator)
            return requested
        memberships = self.store.memberships_of(user.id)
        if self.config.require_organization_selection and len(memberships) > 1:
            pending = self._pending_auth(
                user, "organization_selection", method, auth_time, impersonator
            )
            orgs = [self.store.organizations[m.organization_id] for m in memberships]
            raise code_error(
                403,
                "organization_selection_required",
                "The user must choose an organization to sign in to.",
                pending_authentication_token=pending.token,
                organizations=[{"id": o.id, "name": o.name} for o in orgs],
                user=user.to_api(),
            )
        for m in memberships:
            org = self.store.organizations.get(m.organization_id)
            if org is not None and org.require is None:
                return org.id
        return None

    def _check_org_access(
        self,
        user: UserRecord,
        organization_id: str,
        method: str,
        auth_time: int,
        impersonator: dict[str, Any] | None,
    ) -> MembershipRecord:
        """Membership check plus the org's step-up requirement (``require``)."""
        org = self.store.organizations.get(organization_id)
        if org is None:
            raise oauth_error(
                400, "organization_not_found", f"Organization '{organization_id}' not found."
            )
        membership = self.store.membership(user.id, organization_id)
        if membership is None:
            raise oauth_error(
                400,
                "organization_membership_not_found",
                f"User '{user.id}' is not a member of organization '{organization_id}'.",
            )
        if org.require == "sso":
            pending = self._pending_auth(user, "sso", method, auth_time, impersonator)
            raise oauth_error(
                self.config.sso_required_status,
                "sso_required",
                "User must authenticate using one of the matching connections.",
                connection_ids=[f"conn_{org.id[4:]}"],
                email=user.email,
                pending_authentication_token=pending.token,
            )
        if org.require == "mfa_enrollment":
            pending = self._pending_auth(user, "mfa_enrollment", method, auth_time, impersonator)
            raise code_error(
                403,
                "mfa_enrollment",
                "The user must enroll in MFA to finish signing in.",
                pending_authentication_token=pending.token,
                user=user.to_api(),
            )
        return membership

    def _pending_auth(
        self,
        user: UserRecord,
        reason: str,
        method: str,
        auth_time: int,
        impersonator: dict[str, Any] | None,
    ) -> PendingAuthentication:
        pending = PendingAuthentication(
            token=opaque_token(18),
            user_id=user.id,
            reason=reason,
            authentication_method=method,
            auth_time=auth_time,
            expires_at=self.clock() + CODE_TTL,
            impersonator=impersonator,
        )
        with self.store.lock:
            self.store.pending_authentications[pending.token] = pending
        return pending

    def _start_session(
        self,
        user: UserRecord,
        organization_id: str | None,
        method: str,
        auth_time: int,
        impersonator: dict[str, Any] | None,
    ) -> dict[str, Any]:
        session = SessionRecord(
            id=random_id("session"),
            user_id=user.id,
            organization_id=organization_id,
            authentication_method=method,
            auth_time=auth_time,
            created_at=self.clock(),
            impersonator=impersonator,
        )
        with self.store.lock:
            self.store.sessions[session.id] = session
            return self._respond(session)

    def _respond(self, session: SessionRecord) -> dict[str, Any]:
        """The AuthenticateResponse for a session: new access and refresh tokens."""
        with self.store.lock:
            user = self.store.users[session.user_id]
            refresh = RefreshRecord(token=opaque_token(24), session_id=session.id)
            self.store.refresh_tokens[refresh.token] = refresh
            claims = self._claims(session)
            body: dict[str, Any] = {
                "user": user.to_api(),
                "refresh_token": refresh.token,
                "authentication_method": session.authentication_method,
            }
            if session.organization_id:
                body["organization_id"] = session.organization_id
            if session.impersonator:
                body["impersonator"] = dict(session.impersonator)
        body["access_token"] = self.keys.signer.sign(claims)  # signing needs no lock
        return body

    def issuer(self) -> str:
        """``iss`` of minted tokens."""
        if self.config.issuer:
            return self.config.issuer
        base = (self.base_url or "http://localhost").rstrip("/")
        return f"{base}/user_management/{self.config.client_id}"

    def _claims(self, session: SessionRecord) -> dict[str, Any]:
        now = int(self.clock())  # floor: iat is never in the future
        claims: dict[str, Any] = {
            "iss": self.issuer(),
            "sub": session.user_id,
            "sid": session.id,
            "jti": ulid_like(),
            "iat": now,
            "exp": now + self.config.access_token_ttl,
            "auth_time": session.auth_time,
        }
        if session.organization_id:
            org = self.store.organizations[session.organization_id]
            membership = self.store.membership(session.user_id, session.organization_id)
            claims["org_id"] = org.id
            claims["role"] = membership.role if membership else None
            claims["roles"] = list(membership.roles) if membership else []
            claims["permissions"] = list(membership.permissions) if membership else []
            claims["entitlements"] = list(org.entitlements)
            claims["feature_flags"] = list(org.feature_flags)
        if session.impersonator:
            claims["act"] = {"sub": session.impersonator["email"]}
        return claims

    def issue_session(
        self,
        user_ref: str,
        organization_id: str | None = None,
        impersonator: str | Mapping[str, Any] | None = None,
        authentication_method: str | None = None,
    ) -> dict[str, Any]:
        """A real session without the browser flow (same answer as a code exchange)."""
        user = self.store.find_user(user_ref)
        if user is None:
            raise LookupError(f"no user with id or email {user_ref!r}")
        imp: dict[str, Any] | None = None
        if isinstance(impersonator, str):
            imp = {"email": impersonator, "reason": None}
        elif impersonator is not None:
            imp = {"email": str(impersonator["email"]), "reason": impersonator.get("reason")}
        method = authentication_method or ("Impersonation" if imp else "Password")
        now = int(self.clock())
        with self.store.lock:
            user.last_sign_in_at = self.clock()
            org = self._session_organization(user, organization_id, method, now, imp)
            return self._start_session(user, org, method, now, imp)

    # ================================================================ logout and revoke

    def logout(self, session_id: str | None, return_to: str | None) -> str | None:
        """End the session; the URL to redirect to, or None for the signed-out page."""
        if not session_id:
            raise message_error(422, "session_id is required.")
        if not self.store.end_session(session_id, self.clock()):
            raise message_error(422, f"Session '{session_id}' not found.")
        if return_to and self.config.logout_return_allowed(return_to):
            return return_to
        return None

    def revoke(self, session_id: Any) -> None:
        """``POST /user_management/sessions/revoke``."""
        if not isinstance(session_id, str) or not session_id:
            raise code_error(422, "invalid_request_parameters", "session_id is required.")
        if not self.store.end_session(session_id, self.clock()):
            raise message_error(400, f"Session '{session_id}' not found.")

    # ================================================================ data (control API)

    def add_user(
        self,
        email: str,
        password: str | None = "password",
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        id: str | None = None,
        email_verified: bool = True,
        external_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> UserRecord:
        """Create a user (id derived from the email unless pinned)."""
        if "@" not in email:
            raise ValueError("email must contain '@'")
        now = self.clock()
        record = UserRecord(
            id=id or stable_id("user", email.strip().lower()),
            email=email.strip(),
            password=password,
            first_name=first_name,
            last_name=last_name,
            email_verified=email_verified,
            external_id=external_id,
            profile_picture_url=None,
            locale=None,
            metadata=dict(metadata or {}),
            created_at=now,
            updated_at=now,
        )
        with self.store.lock:
            if self.store.find_user(email) is not None or record.id in self.store.users:
                raise ValueError(f"a user with email {email!r} or id {record.id!r} exists")
            self.store.users[record.id] = record
        return record

    def add_membership(
        self,
        user_ref: str,
        organization_ref: str,
        role: str = "member",
        roles: tuple[str, ...] = (),
        permissions: tuple[str, ...] = (),
        *,
        id: str | None = None,
        status: str = "active",
    ) -> MembershipRecord:
        """Add a user to an organisation (by id, email or name)."""
        with self.store.lock:
            user = self.store.find_user(user_ref)
            org = self.store.find_organization(organization_ref)
            if user is None or org is None:
                raise LookupError(f"unknown user {user_ref!r} or organization {organization_ref!r}")
            if any(
                m.user_id == user.id and m.organization_id == org.id
                for m in self.store.memberships.values()
            ):
                raise ValueError(f"{user.email} is already a member of {org.name}")
            now = self.clock()
            return self.store.add_membership(
                MembershipRecord(
                    id=id or stable_id("om", f"{user.id}|{org.id}"),
                    user_id=user.id,
                    organization_id=org.id,
                    role=role,
                    roles=tuple(roles) or (role,),
                    permissions=tuple(permissions),
                    status=status,
                    created_at=now,
                    updated_at=now,
                )
            )


def pkce_challenge(verifier: str) -> str:
    """S256 code challenge of a verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
