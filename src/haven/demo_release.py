"""The demo's public release: made once by the demo analyst, approved by the demo coordinator
(the two-person rule), and published, so the public dashboard and ``haven report`` have
released data to show after ``make demo``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import accounts, releases
from haven.demo import DEMO_PEOPLE, DEMO_USER
from haven.errors import NotFound
from haven.models import ReleaseRow
from haven.release_policy import ReleasePolicy

__all__ = ["DEMO_RELEASE_TITLE", "ensure_demo_release"]

DEMO_RELEASE_TITLE = "Demo: attacks on health care and aid workers, published datasets"
"""The title that marks the demo's release (a second run finds it and makes no other)."""


def _approver() -> str:
    """The demo person who may approve a release (not the analyst who creates it)."""
    for name, role in DEMO_PEOPLE.items():
        if accounts.Actor(label=name, role=role).can(accounts.Permission.APPROVE_RELEASE):
            return name
    raise NotFound("the demo has no coordinator", fields={"as": "run haven demo first"})


def ensure_demo_release(session: Session, *, countries: tuple[str, ...]) -> int:
    """The version of the demo's published release, created and published if missing.

    Needs ``haven demo`` first (its analyst and coordinator). Exercise data is never
    released; only the imported published datasets of ``countries`` are.
    """
    found = session.scalar(
        select(ReleaseRow.version).where(
            ReleaseRow.title == DEMO_RELEASE_TITLE,
            ReleaseRow.status == releases.ReleaseStatus.PUBLISHED.value,
        )
    )
    if found is not None:
        return int(found)
    analyst = accounts.actor_named(session, DEMO_USER)
    coordinator = accounts.actor_named(session, _approver())
    made = releases.create(
        session, ReleasePolicy(countries=countries), title=DEMO_RELEASE_TITLE, actor=analyst
    )
    releases.approve(session, made.version, actor=coordinator)
    releases.publish(session, made.version, actor=analyst)
    return made.version
