"""WorkOS AuthKit hosted sign-in in front of any ASGI or WSGI app, in one line."""

from authkit_middleware._version import __version__

__all__ = ["__version__"]
