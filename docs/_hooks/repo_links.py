"""MkDocs hook: pages that point at repository files outside ``docs/``.

- Links such as ``../examples/README.md`` (pages written to read well on GitHub) leave
  the docs directory, which MkDocs (strict) rejects. They point at ``repo_url`` when
  the site has one; otherwise the link text stays, as plain text.
- ``<!-- include: SECURITY.md -->`` inserts a repository file (path from the repository
  root; nothing when it does not exist yet). Its links, relative to the repository
  root, are rewritten the same way: into ``docs/`` as page links, elsewhere as above.

Links inside ``docs/`` are untouched (MkDocs still validates them).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
_DOCS_FROM_ROOT = "../docs/"
_INCLUDE = re.compile(r"^<!--\s*include:\s*(?P<path>[\w./-]+)\s*-->\s*$", re.MULTILINE)


def _rewrite(markdown: str, base: str, page_dir: str, repo_url: str) -> str:
    """Rewrite links of ``markdown`` whose targets are relative to ``base`` (a path
    relative to the docs directory, ``..`` being the repository root)."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
            return match[0]
        file_part, hash_, anchor = target.partition("#")
        path = posixpath.normpath(posixpath.join(base, file_part))
        if path.startswith(_DOCS_FROM_ROOT):  # ../docs/x.md from the root is docs' x.md
            path = path[len(_DOCS_FROM_ROOT) :]
        if not path.startswith("../"):
            relative = posixpath.relpath(path, page_dir or ".")
            return f"[{match['text']}]({relative}{hash_}{anchor})"
        outside = path[len("../") :]
        if repo_url:
            return f"[{match['text']}]({repo_url}/blob/main/{outside}{hash_}{anchor})"
        return match["text"]

    return _LINK.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_dir = posixpath.dirname(page.file.src_uri)
    repo_url = (config.get("repo_url") or "").rstrip("/")
    root = Path(config["docs_dir"]).resolve().parent

    def include(match: re.Match[str]) -> str:
        source = root / match["path"]
        if not source.is_file():
            return ""
        return _rewrite(source.read_text(encoding="utf-8"), "..", page_dir, repo_url)

    markdown = _rewrite(markdown, page_dir, page_dir, repo_url)
    return _INCLUDE.sub(include, markdown)
