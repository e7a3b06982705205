"""Passwords and known answers of the iron (Fe26.2) tests."""

from __future__ import annotations

from typing import Any

#: Test passwords (32+ characters, as iron demands), never real ones.
PASSWORD = "a-test-password-that-is-long-enough!!"
OTHER = "another-test-password-long-enough-too"
#: A fixed "now" (seconds) for seals with an expiry.
NOW = 1_700_000_000.0

# Produced by tests/interop/js/iron.mjs with iron-session 8.0.4 sealData(data,
# {password, ttl: 0}) -- the call authkit-nextjs makes for the session cookie.
KA_PASSWORD = "known-answer-password-for-tests-0123456789"
KA_SESSION = (
    "Fe26.2*1*fa44338ddd6921db8aa812a869f4be6e5193190aa51ccb53e47d494e0748f02c"
    "*wntl9_qeiQPI6q-G-Jwacg*sMiQS14DpH0-5YQXHajqqHyXMDyDBjolnAnIZ92dry0uk_aZWHx5XeSFCoie1sNx"
    "feK8EKRb8aQb7cHxPseTT87k_KlOIxN33DhNnnDe7OMy5y1Xxhzy0lhLsTNT_ZGvBu06JRSB9Cquq-K2QGqxQ-8"
    "tuIX8fMn7Vx26BhIARGA**b5236f5af778d98eb3004340dc8773917d53af09da07d82d167b7e81385b4f29"
    "*AqqRXEKAo8naGiMqIUaoOIutb8yW1UvAE8J9I9T8GcY~2"
)
KA_SESSION_DATA: dict[str, Any] = {
    "accessToken": "at_01",
    "refreshToken": "rt_01",
    "user": {"id": "user_01", "firstName": "Zoë", "emoji": "🔐"},
    "impersonator": None,
}
