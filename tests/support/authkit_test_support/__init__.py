"""Harness pieces more than one test suite uses, in one place.

``pythonpath = ["tests/support"]`` in ``[tool.pytest.ini_options]`` makes this package
importable from every test. Each module is small and imports only what it needs:

- :mod:`.clock`: :class:`~authkit_test_support.clock.Clock`, wall time plus an offset.
- :mod:`.cookies`: a test browser's cookie jar, fed ``Set-Cookie`` headers.
- :mod:`.environment`: loopback never through a proxy; no stray ``WORKOS_*`` variables.
- :mod:`.processes`: free ports, stopping process groups, a private ``redis-server``.
- :mod:`.middleware`: settings pointing a middleware at an emulator, sealed session
  cookies, and plain WSGI requests.
- :mod:`.bearer`: the ASGI/WSGI client harness of the bearer and organisation tests,
  and token forgery.
- :mod:`.encoding`: base64url without padding.
- :mod:`.compare`: "answers alike" for a value and its reference.
- :mod:`.iron_vectors`: test passwords and known answers from iron-session (Node).
- :mod:`.strategies`: Hypothesis strategies for JSON values.
"""
