"""Every ```python block in docs/**/*.md and README.md runs here, as a test.

Each block runs in a fresh namespace, in a temporary directory, with ``WORKOS_*``
pointing at a fresh emulator (so ``AuthKitMiddleware(app)`` builds from the
environment as it would in an app). Functions named ``test_*`` that a block
defines are then called, with the plugin's fixtures (``authkit_emulator``,
``authkit_configured``, ``authkit_sign_in``) and ``monkeypatch``/``tmp_path`` passed
by name, so the example tests in docs/testing.md are run, not only defined.

An HTML comment right before a block changes how it runs:

- ``<!-- sample: setup=asgi_app -->``: names predefined first (see ``SETUPS``);
  several separated by commas;
- ``<!-- sample: continue -->``: run in the namespace of the page's previous block;
- ``<!-- sample: requires=module -->``: skipped when that module is not installed;
- ``<!-- sample: skip reason -->``: not run (keep these rare; the reason is shown).

``<!-- sample: run -->`` before a ```console block runs its ``$ authkit-middleware
...`` lines (exit status 0 expected). A page that cannot carry a comment yet may get
its directive from ``EXTERNAL`` (keyed by the block's first line); prefer the comment.
"""

from __future__ import annotations

import inspect
import re
import shlex
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from authkit_middleware.emulator import Emulator, EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"])
FENCE = re.compile(
    r"(?:<!--\s*sample:\s*(?P<directive>.*?)\s*-->\s*\n)?"
    r"^(?P<indent>[ ]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$",
    re.MULTILINE | re.DOTALL,
)

#: Directives for blocks in pages this suite does not own (first line -> directive),
#: for a page that cannot carry an in-page ``<!-- sample: ... -->`` comment yet.
#: Empty: every page carries its own markers; add an entry only as a stopgap.
EXTERNAL: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Sample:
    path: Path
    line: int
    lang: str
    body: str
    directive: str
    index: int  # position among the page's python blocks

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def id(self) -> str:
        return f"{self.rel}:{self.line}"


def collect(lang_filter: Callable[[str], bool]) -> list[Sample]:
    samples: list[Sample] = []
    for path in FILES:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        index = 0
        for match in FENCE.finditer(text):
            lang = match["lang"]
            if not lang_filter(lang):
                continue
            body = _dedent(match["body"], len(match["indent"]))
            directive = match["directive"] or ""
            rel = path.relative_to(ROOT).as_posix()
            if not directive:
                first = body.strip().splitlines()[0] if body.strip() else ""
                for (page, start), value in EXTERNAL.items():
                    if page == rel and first.startswith(start):
                        directive = value
                        break
            line = text.count("\n", 0, match.start("body"))
            samples.append(Sample(path, line, lang, body, directive, index))
            index += 1
    return samples


def _dedent(body: str, indent: int) -> str:
    if not indent:
        return body
    return "\n".join(
        line[indent:] if line[:indent].isspace() else line for line in body.split("\n")
    )


PYTHON = collect(lambda lang: lang in ("python", "py"))
CONSOLE = [s for s in collect(lambda lang: lang in ("console", "shell-session")) if s.directive]


# ---------------------------------------------------------------------- setups


def _asgi_app(ns: dict[str, Any], ctx: Context) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("home")

    ns["app"] = Starlette(routes=[Route("/", home)])


def _wsgi_app(ns: dict[str, Any], ctx: Context) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"home"]

    ns["app"] = app


def _flask_app(ns: dict[str, Any], ctx: Context) -> None:
    from flask import Flask

    ns["app"] = Flask("doc_sample")


def _request(ns: dict[str, Any], ctx: Context) -> None:
    from starlette.requests import Request

    from authkit_middleware.testing import mint_session

    config = ctx.config()
    session = mint_session(config, ctx.server, "alice@example.com", organization="Acme Inc")
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    scope["authkit"] = session.auth
    ns["request"] = Request(scope)


def _django(ns: dict[str, Any], ctx: Context) -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=True, SECRET_KEY="doc-samples", ALLOWED_HOSTS=["*"], INSTALLED_APPS=[]
        )
    django.setup()


def _imports(ns: dict[str, Any], ctx: Context) -> None:
    """The public names a fragment uses without importing them."""
    import authkit_middleware

    for name in authkit_middleware.__all__:
        ns[name] = getattr(authkit_middleware, name)


def _emulator(ns: dict[str, Any], ctx: Context) -> None:
    ns["server"] = ctx.server
    ns["emulator"] = ctx.server.emulator


SETUPS: dict[str, Callable[[dict[str, Any], Context], None]] = {
    "asgi_app": _asgi_app,
    "wsgi_app": _wsgi_app,
    "flask_app": _flask_app,
    "request": _request,
    "django": _django,
    "emulator": _emulator,
    "imports": _imports,
}


class Context:
    """One sample's world: an emulator, the WORKOS_* environment, a temp directory."""

    def __init__(self, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp: Path):
        from authkit_middleware.testing import configure_environment

        self.server = server
        self.monkeypatch = monkeypatch
        self.tmp = tmp
        import os

        for key in [k for k in os.environ if k.startswith("WORKOS_")]:
            monkeypatch.delenv(key)
        scratch: dict[str, str] = {}
        for key, value in configure_environment(server, scratch).items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp)

    def config(self) -> Any:
        from authkit_middleware import AuthKitConfig

        return AuthKitConfig.from_env()

    def fixtures(self) -> dict[str, Any]:
        from authkit_middleware.testing import SignIn

        return {
            "authkit_emulator": self.server,
            "authkit_configured": self.config(),
            "authkit_sign_in": SignIn(self.server),
            "monkeypatch": self.monkeypatch,
            "tmp_path": self.tmp,
        }


@pytest.fixture
def context(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Context]:
    with Emulator().serve() as server:
        yield Context(server, monkeypatch, tmp_path)


_NAMESPACES: dict[Path, dict[str, Any]] = {}


def _parse(directive: str) -> dict[str, str]:
    if directive.startswith("skip"):
        return {"skip": directive[4:].strip() or "no reason given"}
    out: dict[str, str] = {}
    for part in directive.split():
        key, _, value = part.partition("=")
        out[key] = value
    return out


@pytest.mark.parametrize("sample", PYTHON, ids=[s.id for s in PYTHON])
def test_python_sample(sample: Sample, context: Context) -> None:
    options = _parse(sample.directive)
    if "skip" in options:
        assert options["skip"] != "no reason given", "a skipped sample needs a reason"
        pytest.skip(f"{sample.id}: {options['skip']}")
    if "requires" in options:
        pytest.importorskip(options["requires"])
    if "continue" in options:
        namespace = _NAMESPACES.get(sample.path)
        if namespace is None:
            pytest.skip("the block it continues did not run (run the whole page)")
    else:
        # A real module (in sys.modules for the test), so a sample can name itself,
        # e.g. Django's ROOT_URLCONF=__name__.
        module_name = f"doc_sample_{abs(hash(sample.id))}"
        module = types.ModuleType(module_name)
        context.monkeypatch.setitem(sys.modules, module_name, module)
        namespace = module.__dict__
        for name in filter(None, options.get("setup", "").split(",")):
            SETUPS[name](namespace, context)
    code = compile(sample.body, f"{sample.rel}:{sample.line}", "exec")
    exec(code, namespace)
    _NAMESPACES[sample.path] = namespace
    fixtures = context.fixtures()
    ran = 0
    for name, value in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(value):
            params = inspect.signature(value).parameters
            value(**{p: fixtures[p] for p in params})
            ran += 1
    assert ran or "def test_" not in sample.body, "a test the sample defines did not run"


@pytest.mark.parametrize("sample", CONSOLE, ids=[s.id for s in CONSOLE])
def test_console_sample(sample: Sample, context: Context) -> None:
    options = _parse(sample.directive)
    if "skip" in options:
        pytest.skip(options["skip"])
    assert "run" in options, f"{sample.id}: unknown directive {sample.directive!r}"
    commands = [
        line[2:] for line in sample.body.splitlines() if line.startswith("$ authkit-middleware ")
    ]
    assert commands, f"{sample.id}: no `$ authkit-middleware ...` line to run"
    for command in commands:
        argv = shlex.split(command)[1:]
        done = subprocess.run(
            [sys.executable, "-m", "authkit_middleware.cli", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def test_every_page_is_scanned() -> None:
    assert any(s.rel == "docs/testing.md" for s in PYTHON)
    assert len(PYTHON) >= 20


def test_external_entries_match_a_block() -> None:
    """A stale ``EXTERNAL`` entry (its block was moved or rewritten) goes."""
    firsts = {
        (s.rel, s.body.strip().splitlines()[0]) for s in [*PYTHON, *CONSOLE] if s.body.strip()
    }
    stale = [
        key
        for key in EXTERNAL
        if not any(page == key[0] and first.startswith(key[1]) for page, first in firsts)
    ]
    assert stale == []


def test_skips_are_rare_and_explained() -> None:
    skips = [s for s in PYTHON if s.directive.startswith("skip")]
    assert all(_parse(s.directive)["skip"] != "no reason given" for s in skips)
    assert len(skips) <= max(3, len(PYTHON) // 8), [s.id for s in skips]
