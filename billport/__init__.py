"""billport: wire-compatible Microsoft CSP partner billing APIs, and the client that drives them.

Importing ``billport`` loads nothing from the server side.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
