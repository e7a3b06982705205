"""MkDocs hook: links from a page to repository files outside ``docs/``.

Pages written for GitHub link to ``../examples/README.md`` or ``../SECURITY.md``;
MkDocs (strict) rejects links that leave the docs directory. This hook points them
at ``repo_url`` + ``edit_uri``'s branch when the site has a ``repo_url``, and
otherwise keeps the link text as plain text. Links inside ``docs/`` are untouched
(MkDocs still validates them).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    base = posixpath.dirname(page.file.src_uri)
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
            return match[0]
        path = posixpath.normpath(posixpath.join(base, target.split("#", 1)[0]))
        if not path.startswith("../"):
            return match[0]
        outside = path[len("../") :]
        if repo_url:
            return f"[{match['text']}]({repo_url}/blob/main/{outside})"
        return match["text"]

    return _LINK.sub(replace, markdown)
