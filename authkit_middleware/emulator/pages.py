"""The hosted pages: sign-in / sign-up, error and signed-out pages.

Self-contained HTML (inline CSS, no scripts, no external assets) so the pages
render offline and in any test browser. Every interpolated value goes through
``html.escape``; the forms carry only an opaque request id and a per-request
token, while the sign-in parameters stay server-side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, urlencode

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#1c2024;background:linear-gradient(160deg,#f4f5fb 0%,#e9ecf8 100%)}
main{width:100%;max-width:420px;padding:24px}
.card{background:#fff;border-radius:14px;box-shadow:0 1px 2px rgba(16,24,40,.06),
 0 12px 32px rgba(16,24,40,.10);padding:32px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:20px}
.logo{width:36px;height:36px;border-radius:10px;background:#6363f1;color:#fff;
 display:flex;align-items:center;justify-content:center;font-weight:700}
.brand small{display:block;color:#60646c;font-size:12px}
h1{font-size:22px;margin:0 0 4px}
p.lead{margin:0 0 20px;color:#60646c}
.notice{font-size:12px;color:#8a4b00;background:#fff7e6;border:1px solid #ffe2a8;
 border-radius:8px;padding:6px 10px;margin-bottom:18px}
.error{color:#b42318;background:#fef3f2;border:1px solid #fecdca;border-radius:8px;
 padding:8px 12px;margin-bottom:16px}
.users{list-style:none;margin:0 0 8px;padding:0;display:grid;gap:8px}
.users form{margin:0}
.user{width:100%;display:flex;align-items:center;gap:12px;text-align:left;cursor:pointer;
 background:#fff;border:1px solid #dfe3ea;border-radius:10px;padding:10px 12px;font:inherit}
.user:hover,.user:focus{border-color:#6363f1;box-shadow:0 0 0 3px rgba(99,99,241,.15);outline:0}
.user.hint{border-color:#6363f1}
.avatar{flex:none;width:34px;height:34px;border-radius:50%;background:#eef0ff;color:#4a4ad6;
 display:flex;align-items:center;justify-content:center;font-weight:600;font-size:13px}
.who{display:flex;flex-direction:column;min-width:0}
.who span{color:#60646c;font-size:13px;overflow:hidden;text-overflow:ellipsis}
.divider{display:flex;align-items:center;gap:10px;color:#8b8d98;font-size:12px;margin:18px 0}
.divider:before,.divider:after{content:"";flex:1;height:1px;background:#e4e6eb}
label{display:block;font-size:13px;font-weight:600;margin:12px 0 4px}
input[type=email],input[type=password],input[type=text]{width:100%;padding:9px 11px;
 border:1px solid #cfd4dc;border-radius:8px;font:inherit}
input:focus{outline:0;border-color:#6363f1;box-shadow:0 0 0 3px rgba(99,99,241,.15)}
.row{display:flex;gap:10px}.row>div{flex:1}
button.primary{margin-top:18px;width:100%;padding:10px;border:0;border-radius:8px;
 background:#6363f1;color:#fff;font:inherit;font-weight:600;cursor:pointer}
button.primary:hover{background:#5151e0}
.foot{display:flex;justify-content:space-between;margin-top:18px;font-size:13px}
a{color:#4a4ad6;text-decoration:none}a:hover{text-decoration:underline}
a.cancel{color:#60646c}
.meta{text-align:center;color:#8b8d98;font-size:12px;margin-top:16px}
"""


@dataclass(frozen=True)
class PickerUser:
    """A user as the picker shows it."""

    id: str
    email: str
    name: str
    detail: str = ""


def _layout(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} · AuthKit emulator</title><style>{_CSS}</style></head>"
        f'<body><main><div class="card">{body}</div>'
        '<p class="meta">authkit-middleware local AuthKit emulator</p></main></body></html>\n'
    )


def _brand(subtitle: str) -> str:
    return (
        '<div class="brand"><div class="logo">A</div><div><strong>AuthKit</strong>'
        f"<small>{escape(subtitle)}</small></div></div>"
        '<div class="notice">Local emulator: test users only, nothing leaves this machine.'
        "</div>"
    )


def _initials(user: PickerUser) -> str:
    parts = [p for p in user.name.split() if p][:2]
    letters = "".join(p[0] for p in parts) or user.email[:1]
    return letters.upper()


def sign_in_page(
    *,
    action_url: str,
    request_id: str,
    form_token: str,
    cancel_url: str,
    switch_url: str,
    screen: str,
    users: Sequence[PickerUser],
    organization_name: str | None,
    login_hint: str | None,
    error: str | None = None,
    values: Mapping[str, str] | None = None,
) -> str:
    """The hosted sign-in (user picker + password form) or sign-up screen."""
    values = values or {}
    hidden = (
        f'<input type="hidden" name="request" value="{escape(request_id)}">'
        f'<input type="hidden" name="token" value="{escape(form_token)}">'
    )
    target = f" to {organization_name}" if organization_name else ""
    err = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    action = escape(action_url)
    if screen == "sign-up":
        lead = (
            f"Create an account to continue{target}."
            if target
            else "Create an account with your email and a password, then continue to the app."
        )
        heading = f'<h1>Create your account</h1><p class="lead">{escape(lead)}</p>'
        form = (
            f'<form method="post" action="{action}" id="sign-up">{hidden}'
            '<input type="hidden" name="action" value="sign-up">'
            '<div class="row"><div><label for="first_name">First name</label>'
            '<input type="text" id="first_name" name="first_name" autocomplete="given-name"'
            f' value="{escape(values.get("first_name", ""))}"></div>'
            '<div><label for="last_name">Last name</label>'
            '<input type="text" id="last_name" name="last_name" autocomplete="family-name"'
            f' value="{escape(values.get("last_name", ""))}"></div></div>'
            '<label for="email">Email</label><input type="email" id="email" name="email"'
            f' required autocomplete="email" value="{escape(values.get("email", ""))}">'
            '<label for="password">Password</label><input type="password" id="password"'
            ' name="password" required minlength="8" autocomplete="new-password">'
            '<button class="primary" type="submit">Create account</button></form>'
        )
        foot = (
            f'<div class="foot"><a href="{escape(switch_url)}">Have an account? Sign in</a>'
            f'<a class="cancel" href="{escape(cancel_url)}">Cancel</a></div>'
        )
        return _layout("Sign up", _brand("Sign up") + heading + err + form + foot)

    lead = f"Continue{target}." if target else "Pick a test user or use your email and password."
    heading = f'<h1>Sign in</h1><p class="lead">{escape(lead)}</p>'
    picker = ""
    if users:
        hint = (login_hint or "").lower()
        items = []
        for u in users:
            cls = "user hint" if hint and hint in (u.email.lower(), u.id.lower()) else "user"
            detail = f" · {escape(u.detail)}" if u.detail else ""
            items.append(
                f'<li><form method="post" action="{action}">{hidden}'
                '<input type="hidden" name="action" value="pick">'
                f'<input type="hidden" name="user_id" value="{escape(u.id)}">'
                f'<button class="{cls}" type="submit" data-user-id="{escape(u.id)}">'
                f'<span class="avatar">{escape(_initials(u))}</span><span class="who">'
                f"<strong>{escape(u.name)}</strong><span>{escape(u.email)}{detail}</span>"
                "</span></button></form></li>"
            )
        picker = (
            '<ul class="users" aria-label="Test users">'
            + "".join(items)
            + '</ul><div class="divider">or sign in with a password</div>'
        )
    form = (
        f'<form method="post" action="{action}" id="sign-in">{hidden}'
        '<input type="hidden" name="action" value="sign-in">'
        '<label for="email">Email</label><input type="email" id="email" name="email"'
        f' required autocomplete="username" value="{escape(values.get("email", ""))}">'
        '<label for="password">Password</label><input type="password" id="password"'
        ' name="password" required autocomplete="current-password">'
        '<button class="primary" type="submit">Sign in</button></form>'
    )
    foot = (
        f'<div class="foot"><a href="{escape(switch_url)}">No account? Sign up</a>'
        f'<a class="cancel" href="{escape(cancel_url)}">Cancel</a></div>'
    )
    return _layout("Sign in", _brand("Sign in") + heading + err + picker + form + foot)


def error_page(title: str, message: str) -> str:
    """A browser-facing error (bad client id, bad redirect URI, expired form)."""
    body = (
        _brand("Something went wrong")
        + f'<h1>{escape(title)}</h1><p class="lead">{escape(message)}</p>'
    )
    return _layout(title, body)


def signed_out_page() -> str:
    """Shown after logout when ``return_to`` is absent or not allowed."""
    body = (
        _brand("Signed out") + '<h1>You are signed out</h1><p class="lead">Your session has ended. '
        "You can close this tab.</p>"
    )
    return _layout("Signed out", body)


def page_urls(request_id: str, form_token: str) -> dict[str, str]:
    """The URLs a page links to, relative to the emulator root."""
    base = f"/authkit/{quote(request_id, safe='')}"
    return {
        "action": base,
        "cancel": f"{base}/cancel?{urlencode({'token': form_token})}",
        "sign-in": f"{base}?screen=sign-in",
        "sign-up": f"{base}?screen=sign-up",
    }
