"""The HTTP API: thin shells over the service modules, mounted under ``/api``."""

from haven.api.routes import build_router

__all__ = ["build_router"]
