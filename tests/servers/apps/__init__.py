"""Tiny apps the server harness runs until (and besides) the examples.

They follow the examples' contract: a public ``/``, a protected ``/dashboard`` that
shows the signed-in user, ``/api/me`` JSON and a permission-guarded ``/widgets/new``
(``widgets:write``),
configured from ``WORKOS_*`` environment variables.
"""
