"""Framework helpers: one small module per framework, each importing only its framework.

- :mod:`~authkit_middleware.integrations.flask`: ``current_auth``, ``login_required``,
  ``permission_required``, ``role_required``.
- :mod:`~authkit_middleware.integrations.fastapi`: ``get_auth``, ``require_auth``,
  ``require_permission``, ``require_role`` (dependencies).
- :mod:`~authkit_middleware.integrations.django`: ``get_auth``, ``login_required``,
  ``permission_required``, ``role_required``, the ``authkit`` context processor.
- :mod:`~authkit_middleware.integrations.starlette`: ``get_auth`` and Starlette's own
  ``requires``.

Every guard decides with :mod:`authkit_middleware.core.guards`, so a refusal looks
the same whichever framework (and the middleware's own path rules) produced it.
Nothing is imported here: importing this package never imports a framework.
"""
