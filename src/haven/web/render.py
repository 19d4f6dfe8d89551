"""Jinja2 rendering of the pages: one autoescaping environment per language, shared page context."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from haven.accounts import Permission
from haven.sessions import WebSession
from haven.web import views
from haven.web.i18n import LANGUAGES, Localiser, translations

__all__ = ["environment", "render"]

TEMPLATES = Path(__file__).parent / "templates"
PAGE_HEADERS = {"Cache-Control": "private, no-cache", "Vary": "Cookie, Accept-Language"}


@functools.cache
def environment(lang: str) -> Environment:
    """The template environment of ``lang``: autoescaped, with gettext bound to its catalogue."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    local = Localiser(lang)
    env.globals.update(
        languages=LANGUAGES,
        lang=lang,
        rtl=local.rtl,
        fmt=local,
        attack_labels=views.ATTACK_TYPE_LABELS,
        attack_codes=views.ATTACK_TYPE_CODES,
        resource_labels=views.RESOURCE_LABELS,
        source_type_labels=views.SOURCE_TYPE_LABELS,
        certainty_labels=views.CERTAINTY_LABELS,
        state_labels=views.STATE_LABELS,
        status_labels=views.FACILITY_STATUS_LABELS,
        kind_labels=views.FACILITY_KIND_LABELS,
        facility_type_labels=views.FACILITY_TYPE_LABELS,
    )
    return env


def render(
    request: Request,
    template: str,
    *,
    context: dict[str, Any],
    lang: str,
    web: WebSession | None,
    status: int = 200,
) -> HTMLResponse:
    """A page in ``lang`` for the viewer of ``web`` (``None``: signed out)."""
    actor = web.actor if web is not None else None
    page = environment(lang).get_template(template)
    html = page.render(
        **context,
        viewer=actor,
        can_read=actor is not None and actor.can(Permission.READ_INCIDENTS),
        can_verify=actor is not None and actor.can(Permission.VERIFY),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        tiles=request.app.state.settings.map_tile_url,
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
