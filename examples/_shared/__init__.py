"""What the examples share and none of them is about: their look (``pages``).

The example folders are scripts, not packages; each one puts ``examples/`` on
``sys.path`` (two lines at the end of its imports) and imports ``_shared.pages``.
"""
