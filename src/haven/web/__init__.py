"""The web app: server-rendered pages over the service functions, static files, offline reporting.

``build_web_router()`` gives the page routes; ``static_files()`` the ASGI app
mounted at ``/static`` (Haven's own scripts and styles, and Leaflet with its
marker-cluster plugin from the ``xstatic`` packages, so no CDN is needed).
"""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from fastapi import APIRouter
from starlette.routing import Mount, Router
from starlette.staticfiles import StaticFiles

__all__ = ["build_web_router", "static_files"]


def build_web_router() -> APIRouter:
    """The HTML pages (``/``, ``/login``, ``/report``, ``/map``, ``/incidents/...`` ...)."""
    from haven.web.case_pages import build_case_page_router  # noqa: PLC0415
    from haven.web.evacuation_pages import build_evacuation_page_router  # noqa: PLC0415
    from haven.web.pages import build_page_router  # noqa: PLC0415 - pages import this package

    router = build_page_router()
    router.include_router(build_evacuation_page_router())  # /evacuations
    router.include_router(build_case_page_router())  # /cases
    return router


def static_files() -> Router:
    """The ``/static`` app: ``/static/leaflet/``, ``/static/markercluster/`` and Haven's own."""
    return Router(
        routes=[
            Mount("/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR)),
            Mount(
                "/markercluster",
                StaticFiles(directory=xstatic.pkg.leaflet_markercluster.BASE_DIR),
            ),
            Mount("/", StaticFiles(directory=Path(__file__).parent / "static")),
        ]
    )
