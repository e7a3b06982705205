"""Which paths need a signed-in user, and which permissions, roles, entitlements or flags.

Patterns are globs compiled once at start-up into one regular expression per list, so
matching costs one ``re.match`` per request whatever the number of patterns. ``*``
matches any characters including ``/`` (``"/*"`` protects everything, ``"/admin/*"``
everything below ``/admin/``); ``?`` one character. Public patterns win over
protected ones, and the auth routes are always reachable (the adapter routes them
before any rule is consulted), so a protect-all rule can never lock out the callback.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from authkit_middleware.core.auth import Auth


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a matched path demands of the request."""

    permissions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    #: Every one listed (``auth.entitlements``, from the organisation's plan).
    entitlements: tuple[str, ...] = ()
    #: Every one listed (``auth.feature_flags``).
    feature_flags: tuple[str, ...] = ()

    def allows(self, auth: Auth) -> bool:
        """Signed in, every permission, any one of the roles, every entitlement and flag."""
        return (
            auth.user is not None
            and all(p in auth.permissions for p in self.permissions)
            and (not self.roles or any(auth.has_role(r) for r in self.roles))
            and all(e in auth.entitlements for e in self.entitlements)
            and all(f in auth.feature_flags for f in self.feature_flags)
        )


_SIGNED_IN = Requirement()
#: Most paths whose requirement ``ProtectionRules`` remembers at once.
_MEMO_SIZE = 1024
_UNSEEN = object()


def _compile(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(p) for p in patterns if p]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts))


class ProtectionRules:
    """Compiled protection rules; ``requirement(path)`` is the only per-request call."""

    __slots__ = (
        "_entitlement_rules",
        "_flag_rules",
        "_memo",
        "_permission_rules",
        "_protected",
        "_public",
        "_role_rules",
    )

    def __init__(
        self,
        *,
        protected: Iterable[str] = (),
        public: Iterable[str] = (),
        permission_rules: Mapping[str, Iterable[str]] | None = None,
        role_rules: Mapping[str, Iterable[str]] | None = None,
        entitlement_rules: Mapping[str, Iterable[str]] | None = None,
        feature_flag_rules: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        permission_rules = permission_rules or {}
        role_rules = role_rules or {}
        entitlement_rules = entitlement_rules or {}
        feature_flag_rules = feature_flag_rules or {}
        # A path with any rule is protected even if not listed.
        self._protected = _compile(
            [*protected, *permission_rules, *role_rules, *entitlement_rules, *feature_flag_rules]
        )
        self._public = _compile(public)
        self._permission_rules = [
            (re.compile(fnmatch.translate(p)), tuple(perms))
            for p, perms in permission_rules.items()
        ]
        self._role_rules = [
            (re.compile(fnmatch.translate(p)), tuple(roles)) for p, roles in role_rules.items()
        ]
        self._entitlement_rules = [
            (re.compile(fnmatch.translate(p)), tuple(v)) for p, v in entitlement_rules.items()
        ]
        self._flag_rules = [
            (re.compile(fnmatch.translate(p)), tuple(v)) for p, v in feature_flag_rules.items()
        ]

        #: path -> requirement, for the paths seen most (see ``requirement``).
        self._memo: dict[str, Requirement | None] = {}

    @property
    def memo(self) -> dict[str, Requirement | None]:
        """The answers remembered per path (``requirement`` fills it; a missing path
        is not an answer). For a hot path that looks up before calling ``requirement``."""
        return self._memo

    @property
    def protects_anything(self) -> bool:
        return self._protected is not None

    def requirement(self, path: str) -> Requirement | None:
        """None when the path is open; otherwise what it requires (at least sign-in).

        Answers are remembered per path (a pure function of the path and the rules,
        which never change): one dict lookup instead of two or more regex matches.
        Paths are client-chosen, so the memo is bounded: once full it is emptied and
        refilled by the paths that keep coming back.
        """
        memo = self._memo
        found = memo.get(path, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        found = self._match(path)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[path] = found
        return found

    def _match(self, path: str) -> Requirement | None:
        if self._protected is None or not self._protected.match(path):
            return None
        if self._public is not None and self._public.match(path):
            return None
        if not (
            self._permission_rules
            or self._role_rules
            or self._entitlement_rules
            or self._flag_rules
        ):
            return _SIGNED_IN
        perms: list[str] = []
        roles: list[str] = []
        for pattern, needed in self._permission_rules:
            if pattern.match(path):
                perms.extend(needed)
        for pattern, needed in self._role_rules:
            if pattern.match(path):
                roles.extend(needed)
        ents = [e for p, needed in self._entitlement_rules if p.match(path) for e in needed]
        flags = [f for p, needed in self._flag_rules if p.match(path) for f in needed]
        if not (perms or roles or ents or flags):
            return _SIGNED_IN
        return Requirement(tuple(perms), tuple(roles), tuple(ents), tuple(flags))
