"""Sign-out: the ``/logout`` route.

Ends the WorkOS session (the browser is sent to WorkOS's logout URL when the session
id is known), clears every cookie the middleware set, pending sign-in flows included,
and remembers the ended session id so its old cookies stay dead in this process. A
generator over effects (``on_sign_out`` is a ``CallHook``), run by the drivers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from authkit_middleware.core import bearer as _bearer
from authkit_middleware.core import hooks as _hooks
from authkit_middleware.core.cookies import delete_cookie, join_cookie, parse_cookie_header
from authkit_middleware.core.effects import CallHook
from authkit_middleware.core.errors import AuthKitError, SealError
from authkit_middleware.core.http import RequestInfo, Response, json_response, redirect
from authkit_middleware.core.login_state import stale_verifier_cookies
from authkit_middleware.core.session import decode_session
from authkit_middleware.core.tokens import unverified_claims

if TYPE_CHECKING:
    from authkit_middleware.core.effects import Steps
    from authkit_middleware.core.engine import AuthKit, UrlBuilder

__all__ = ["logout"]

logger = logging.getLogger("authkit_middleware")

#: Session-cache keys with this prefix hold bearer tokens, never a cookie (see engine).
_BEARER_KEY = _bearer.BEARER_CACHE_PREFIX


def logout(kit: AuthKit, request: RequestInfo, now: float, urls: UrlBuilder) -> Steps[Response]:
    """``GET``/``POST /logout``: end the WorkOS session, clear every cookie we set (G)."""
    cross_site = (request.sec_fetch_site or "").lower() == "cross-site"
    if request.method not in ("GET", "POST", "HEAD"):
        return kit.error_response(
            request,
            AuthKitError("Use POST to sign out.", code="method_not_allowed", status=405),
        )
    if cross_site and (request.method == "POST" or not kit.config.logout_cross_site_get):
        # G3: another site cannot sign the user out (or in) behind their back.
        return kit.error_response(
            request,
            AuthKitError(
                "Sign-out must start from this site.", code="cross_site_logout", status=403
            ),
        )
    cookies = parse_cookie_header(request.cookie) if request.cookie else {}
    clear = kit._clear_session_cookies(request)
    # Every pending flow ends too, but at most MAX_DELETIONS per response (bounded).
    pending = stale_verifier_cookies(kit._verifier_cookies(request), keep=None, max_pending=0)
    clear.extend(delete_cookie(kit._verifier_options(n)) for n in pending)
    session_id: str | None = None
    signed_out = None
    value = join_cookie(cookies, kit._cookie_name, max_chunks=kit.config.max_cookie_chunks)
    if value is not None:
        if not value.startswith(_BEARER_KEY):
            kit.sessions.pop(value)
        try:
            session = decode_session(kit.sealer.unseal(value, purpose="session", now=now))
            signed_out = session.user
            sid = unverified_claims(session.access_token).get("sid")
            if isinstance(sid, str) and sid:
                session_id = sid
                kit._ended_sessions.put(sid, True, now + 3600)
                logger.info("signed out user %s", session.user.id)
        except SealError:
            pass
    if signed_out is not None and kit.config.on_sign_out is not None:
        # An observer: the sign-out completes even if it fails (logged, hook_failed).
        event = _hooks.SignOutEvent(signed_out, session_id, _hooks.RequestView.of(request))
        yield CallHook("on_sign_out", event)
    after = kit.config.resolved_after_sign_out_url
    configured = kit.config.after_sign_out_url
    if request.root_path and (configured is None or configured.startswith("/")):
        # A path (default "/") is one of this app's: keep the mount prefix.
        after = kit.config.origin + kit._local_url(request, configured or "/")
    if session_id is not None:
        location = urls.get_logout_url(session_id=session_id, return_to=after)
    else:
        location = after or kit._local_url(request, "/")
    if not request.wants_html and request.method == "POST":
        return json_response({"signed_out": True, "logout_url": location}).add_cookies(clear)
    status = 303 if request.method == "POST" else 302
    return redirect(location, status=status).add_cookies(clear)
