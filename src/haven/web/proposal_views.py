"""The map page's "Proposed closures" list: obstruction incidents for coordinators to decide on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from haven.accounts import Actor, Permission
from haven.errors import NotFound
from haven.routing.proposals import list_proposals
from haven.settings import Settings

__all__ = ["proposal_context"]


def proposal_context(session: Session, actor: Actor, *, settings: Settings) -> dict[str, Any]:
    """``closure_proposals`` for the map: None unless ``actor`` may decide on closures.

    Real and exercise proposals are listed apart; ``no_network`` when no road network
    is imported yet (nothing can be proposed then).
    """
    if not actor.can(Permission.MANAGE_FACILITIES):
        return {"closure_proposals": None}
    try:
        real = list_proposals(session, settings, actor=actor)
        exercise = list_proposals(session, settings, actor=actor, exercise=True)
    except NotFound:
        return {"closure_proposals": {"real": [], "exercise": [], "no_network": True}}
    found = {"real": real, "exercise": exercise, "no_network": False}
    return {"closure_proposals": found, "proposal_days": settings.closure_proposal_days}
