"""Run the Django example: ASGI under uvicorn (default) or WSGI under werkzeug.

::

    python examples/django/app.py           # ASGI (asgi.py),  http://localhost:3000
    python examples/django/app.py --wsgi    # WSGI (wsgi.py),  http://localhost:3000

No configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY is unset.
``PORT`` changes the port.
"""

from __future__ import annotations

import os
import sys

from authkit_middleware.dev import ensure_workos_environment


def main(argv: list[str]) -> None:
    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    if "--wsgi" in argv:
        from demo_project import create_wsgi_app
        from werkzeug.serving import run_simple

        run_simple("localhost", port, create_wsgi_app(), threaded=True)
    else:
        import uvicorn
        from demo_project import create_asgi_app

        uvicorn.run(create_asgi_app(), host="localhost", port=port)


if __name__ == "__main__":
    main(sys.argv[1:])
