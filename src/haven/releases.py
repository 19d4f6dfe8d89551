"""The release pipeline: preview, freeze, two-person approval, publication and withdrawal.

Public data exists only as a published release. A ``ReleasePolicy`` (see
``haven.release_policy``) says what may be published and how coarsely;
``preview`` shows exactly what it would publish; ``create`` freezes that
content as a draft with its SHA-256; a second person ``approve``s it;
``publish`` makes it public; ``withdraw`` takes it down. Every step is an
audit event in the same transaction. Exercise data is never released. The
anonymous reads (``list_published``, ``get_public_items``, …) serve only
published releases. See docs/privacy.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from haven import audit, custody
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from haven.models import ReleaseItemRow, ReleaseRow, UserRow, utcnow
from haven.release_content import PublicCell, PublicIncident, ReleasePreview, build
from haven.release_indicators import PublicIndicator
from haven.release_policy import ReleasePolicy, load_policy

__all__ = [
    "PublicCell",
    "PublicContent",
    "PublicIncident",
    "PublicIncidentPage",
    "PublicIndicator",
    "PublicRelease",
    "Release",
    "ReleaseContent",
    "ReleasePolicy",
    "ReleasePreview",
    "ReleaseStatus",
    "approve",
    "create",
    "get",
    "get_content",
    "get_public_cells",
    "get_public_items",
    "get_published",
    "list_published",
    "list_releases",
    "load_policy",
    "preview",
    "public_content",
    "publish",
    "withdraw",
]


class ReleaseStatus(StrEnum):
    """Where a release is in its life."""

    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Release(BaseModel):
    """A release as the people who prepare and approve it see it (not public)."""

    version: int
    title: str
    status: ReleaseStatus
    policy: ReleasePolicy
    created_by: str | None
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    published_at: datetime | None
    withdrawn_by: str | None
    withdrawn_at: datetime | None
    withdraw_reason: str | None
    row_count: int
    content_sha256: str | None
    epsilon: float | None


class ReleaseContent(BaseModel):
    """A release's frozen content, for the approver to check before approving."""

    release: Release
    incidents: list[PublicIncident]
    cells: list[PublicCell]
    indicators: list[PublicIndicator] = Field(default_factory=list)


class PublicRelease(BaseModel):
    """A published release as anyone sees it."""

    version: int
    title: str
    published_at: datetime
    policy: ReleasePolicy
    incidents: int = Field(description="Incident rows in the release.")
    cells: int = Field(description="Count cells in the release.")
    content_sha256: str = Field(description="SHA-256 of the release's canonical JSON content.")
    epsilon: float | None


class PublicIncidentPage(BaseModel):
    """One page of a published release's incident rows."""

    version: int
    items: list[PublicIncident]
    next_cursor: str | None


class PublicContent(BaseModel):
    """Everything one published release holds (what exports are made from)."""

    release: PublicRelease
    incidents: list[PublicIncident]
    cells: list[PublicCell]
    indicators: list[PublicIndicator] = Field(default_factory=list)


# --- storage ----------------------------------------------------------------------------------

_Item = tuple[str, dict[str, Any]]


def _items_of(built: ReleasePreview) -> list[_Item]:
    return (
        [("incident", r.public_dict()) for r in built.incidents]
        + [("cell", c.public_dict()) for c in built.cells]
        + [("indicator", i.public_dict()) for i in built.indicators]
    )


def _digest(items: Iterable[_Item]) -> str:
    """SHA-256 of the content's canonical JSON: ``[[kind, data], ...]`` with sorted keys."""
    canonical = orjson.dumps([[kind, data] for kind, data in items], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _stored_items(session: Session, release_id: int, *, kind: str | None = None) -> list[_Item]:
    query = select(ReleaseItemRow.kind, ReleaseItemRow.data).where(
        ReleaseItemRow.release_id == release_id
    )
    if kind is not None:
        query = query.where(ReleaseItemRow.kind == kind)
    return [(k, d) for k, d in session.execute(query.order_by(ReleaseItemRow.seq))]


def _row(session: Session, version: int, *, lock: bool = False) -> ReleaseRow:
    query = select(ReleaseRow).where(ReleaseRow.version == version)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no release {version}", fields={"version": "unknown"})
    return row


def _verify(session: Session, row: ReleaseRow) -> None:
    """``Conflict`` unless the stored content still hashes to what was created."""
    if _digest(_stored_items(session, row.id)) != row.content_sha256:
        raise Conflict(
            f"release {row.version}'s stored content no longer matches its SHA-256; "
            "withdraw it and create a new one",
            fields={"content_sha256": "mismatch"},
        )


def _to_release(session: Session, row: ReleaseRow) -> Release:
    ids = {row.created_by, row.approved_by, row.withdrawn_by} - {None}
    found = session.execute(select(UserRow.id, UserRow.username).where(UserRow.id.in_(ids)))
    names = {user_id: username for user_id, username in found}
    return Release(
        version=row.version,
        title=row.title,
        status=ReleaseStatus(row.status),
        policy=ReleasePolicy.model_validate(row.policy),
        created_by=names.get(row.created_by) if row.created_by else None,
        created_at=row.created_at,
        approved_by=names.get(row.approved_by) if row.approved_by else None,
        approved_at=row.approved_at,
        published_at=row.published_at,
        withdrawn_by=names.get(row.withdrawn_by) if row.withdrawn_by else None,
        withdrawn_at=row.withdrawn_at,
        withdraw_reason=row.withdraw_reason,
        row_count=row.row_count,
        content_sha256=row.content_sha256,
        epsilon=row.epsilon,
    )


# --- the service functions ----------------------------------------------------------------------


def _require_release_role(actor: Actor) -> None:
    if not actor.can(Permission.APPROVE_RELEASE):
        require(actor, Permission.PREPARE_RELEASE)


def _require_named(actor: Actor, *, doing: str) -> None:
    if actor.user_id is None:
        raise PermissionDenied(
            f"{doing} a release needs a named person (on the command line: --as USERNAME)",
            fields={"as": "required"},
        )


def _require_need_to_know(actor: Actor, policy: ReleasePolicy) -> None:
    """An actor limited to some countries may release only those, named in the policy."""
    if not actor.countries:
        return
    if not policy.countries or not set(policy.countries) <= actor.countries:
        allowed = ", ".join(sorted(actor.countries))
        raise PermissionDenied(
            f"you may see only {allowed}: name only those in the policy's countries",
            fields={"policy.countries": "outside your need-to-know"},
        )


def preview(
    session: Session, policy: ReleasePolicy, *, actor: Actor, now: datetime | None = None
) -> ReleasePreview:
    """Exactly what ``policy`` would publish now (nothing is stored).

    Under differential privacy each preview draws fresh noise; ``create``
    freezes one draw, and what the approver sees is that frozen content.
    """
    require(actor, Permission.PREPARE_RELEASE)
    _require_need_to_know(actor, policy)
    return build(session, policy, now=now or utcnow(), actor=actor)


def create(
    session: Session,
    policy: ReleasePolicy,
    *,
    title: str,
    actor: Actor,
    now: datetime | None = None,
) -> Release:
    """Freeze what ``policy`` publishes now as a draft release with its SHA-256 (no commit)."""
    require(actor, Permission.PREPARE_RELEASE)
    _require_named(actor, doing="creating")
    _require_need_to_know(actor, policy)
    title = title.strip()
    if not 1 <= len(title) <= 200 or "\x00" in title:
        raise InvalidInput("bad title", fields={"title": "1-200 characters"})
    at = now or utcnow()
    built = build(session, policy, now=at, actor=actor)
    items = _items_of(built)
    version = (session.scalar(select(func.max(ReleaseRow.version))) or 0) + 1
    row = ReleaseRow(
        version=version,
        title=title,
        policy=policy.model_dump(mode="json"),
        status=ReleaseStatus.DRAFT.value,
        created_by=actor.user_id,
        created_at=at,
        row_count=len(built.incidents),
        content_sha256=_digest(items),
        epsilon=built.epsilon,
    )
    session.add(row)
    session.flush()
    if items:
        session.execute(
            insert(ReleaseItemRow),
            [
                {"release_id": row.id, "seq": seq, "kind": kind, "data": data}
                for seq, (kind, data) in enumerate(items, start=1)
            ],
        )
    audit.record(
        session,
        actor,
        action="release.create",
        entity_type="release",
        entity_id=version,
        detail={
            "title": title,
            "rows": len(built.incidents),
            "cells": len(built.cells),
            "content_sha256": row.content_sha256,
            "epsilon": built.epsilon,
        },
    )
    return _to_release(session, row)


def approve(session: Session, version: int, *, actor: Actor) -> Release:
    """Approve a draft; the approver must be a different person from its creator (no commit)."""
    require(actor, Permission.APPROVE_RELEASE)
    row = _row(session, version, lock=True)
    _require_named(actor, doing="approving")
    if row.status != ReleaseStatus.DRAFT:
        raise Conflict(
            f"release {version} is {row.status}; only a draft can be approved",
            fields={"status": row.status},
        )
    if row.created_by == actor.user_id:
        raise PermissionDenied(
            "two-person rule: whoever created a release cannot approve it",
            fields={"approved_by": "is the creator"},
        )
    _require_need_to_know(actor, ReleasePolicy.model_validate(row.policy))
    _verify(session, row)
    row.status = ReleaseStatus.APPROVED.value
    row.approved_by = actor.user_id
    row.approved_at = utcnow()
    audit.record(
        session,
        actor,
        action="release.approve",
        entity_type="release",
        entity_id=version,
        detail={"content_sha256": row.content_sha256},
    )
    return _to_release(session, row)


def publish(session: Session, version: int, *, actor: Actor) -> Release:
    """Make an approved release public (no commit)."""
    require(actor, Permission.PREPARE_RELEASE)
    row = _row(session, version, lock=True)
    if row.status != ReleaseStatus.APPROVED:
        raise Conflict(
            f"release {version} is {row.status}; only an approved release can be published",
            fields={"status": row.status},
        )
    _verify(session, row)
    row.status = ReleaseStatus.PUBLISHED.value
    row.published_at = utcnow()
    audit.record(
        session,
        actor,
        action="release.publish",
        entity_type="release",
        entity_id=version,
        detail={"content_sha256": row.content_sha256, "rows": row.row_count},
    )
    custody.append(
        session,
        actor,
        act=custody.Act.RELEASE_PUBLISHED,
        entity_type="release",
        entity_id=version,
        content_sha256=row.content_sha256,
        detail={"rows": row.row_count},
    )
    return _to_release(session, row)


def withdraw(session: Session, version: int, *, reason: str, actor: Actor) -> Release:
    """Take a release down (or discard a draft); its content is kept but never served again."""
    _require_release_role(actor)
    reason = reason.strip()
    if not 3 <= len(reason) <= 2000 or "\x00" in reason:
        raise InvalidInput("a withdrawal needs a reason", fields={"reason": "3-2000 characters"})
    row = _row(session, version, lock=True)
    if row.status == ReleaseStatus.WITHDRAWN:
        raise Conflict(f"release {version} is already withdrawn", fields={"status": row.status})
    previous = row.status
    row.status = ReleaseStatus.WITHDRAWN.value
    row.withdrawn_by = actor.user_id
    row.withdrawn_at = utcnow()
    row.withdraw_reason = reason
    audit.record(
        session,
        actor,
        action="release.withdraw",
        entity_type="release",
        entity_id=version,
        detail={"reason": reason, "was": previous},
    )
    if previous == ReleaseStatus.PUBLISHED.value:
        custody.append(
            session,
            actor,
            act=custody.Act.RELEASE_WITHDRAWN,
            entity_type="release",
            entity_id=version,
            content_sha256=row.content_sha256,
        )
    return _to_release(session, row)


def get(session: Session, version: int, *, actor: Actor) -> Release:
    """One release in any state, for the people who prepare and approve releases."""
    _require_release_role(actor)
    return _to_release(session, _row(session, version))


def list_releases(session: Session, *, actor: Actor) -> list[Release]:
    """Every release in any state, newest first."""
    _require_release_role(actor)
    rows = session.scalars(select(ReleaseRow).order_by(ReleaseRow.version.desc())).all()
    return [_to_release(session, row) for row in rows]


def get_content(session: Session, version: int, *, actor: Actor) -> ReleaseContent:
    """A release's frozen content in any state: what approving it would publish."""
    _require_release_role(actor)
    row = _row(session, version)
    release = _to_release(session, row)
    _require_need_to_know(actor, release.policy)
    items = _stored_items(session, row.id)
    return ReleaseContent(
        release=release,
        incidents=[PublicIncident.model_validate(d) for k, d in items if k == "incident"],
        cells=[PublicCell.model_validate(d) for k, d in items if k == "cell"],
        indicators=[PublicIndicator.model_validate(d) for k, d in items if k == "indicator"],
    )


# --- public reads (anonymous) -------------------------------------------------------------------


def _published_row(session: Session, version: int) -> ReleaseRow:
    row = session.scalar(
        select(ReleaseRow).where(
            ReleaseRow.version == version, ReleaseRow.status == ReleaseStatus.PUBLISHED.value
        )
    )
    if row is None:
        raise NotFound(f"no published release {version}", fields={"version": "not published"})
    return row


def _public_release(row: ReleaseRow, *, cells: int) -> PublicRelease:
    assert row.published_at is not None and row.content_sha256 is not None
    return PublicRelease(
        version=row.version,
        title=row.title,
        published_at=row.published_at,
        policy=ReleasePolicy.model_validate(row.policy),
        incidents=row.row_count,
        cells=cells,
        content_sha256=row.content_sha256,
        epsilon=row.epsilon,
    )


def _cell_counts(session: Session, release_ids: Sequence[int]) -> dict[int, int]:
    if not release_ids:
        return {}
    rows = session.execute(
        select(ReleaseItemRow.release_id, func.count())
        .where(ReleaseItemRow.release_id.in_(release_ids), ReleaseItemRow.kind == "cell")
        .group_by(ReleaseItemRow.release_id)
    )
    return {release_id: count for release_id, count in rows}


def list_published(session: Session) -> list[PublicRelease]:
    """Every published (not withdrawn) release, newest first."""
    rows = session.scalars(
        select(ReleaseRow)
        .where(ReleaseRow.status == ReleaseStatus.PUBLISHED.value)
        .order_by(ReleaseRow.version.desc())
    ).all()
    counts = _cell_counts(session, [r.id for r in rows])
    return [_public_release(r, cells=counts.get(r.id, 0)) for r in rows]


def get_published(session: Session, version: int) -> PublicRelease:
    """One published release; ``NotFound`` if it was never published or was withdrawn."""
    row = _published_row(session, version)
    return _public_release(row, cells=_cell_counts(session, [row.id]).get(row.id, 0))


def get_public_items(
    session: Session, version: int, *, limit: int = 50, cursor: str | None = None
) -> PublicIncidentPage:
    """A page of a published release's incident rows, in release order."""
    row = _published_row(session, version)
    after = 0
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 12:
            raise InvalidInput("bad cursor", fields={"cursor": "is not a cursor Haven gave"})
        after = int(cursor)
    found = session.execute(
        select(ReleaseItemRow.seq, ReleaseItemRow.data)
        .where(
            ReleaseItemRow.release_id == row.id,
            ReleaseItemRow.kind == "incident",
            ReleaseItemRow.seq > after,
        )
        .order_by(ReleaseItemRow.seq)
        .limit(limit + 1)
    ).all()
    page = found[:limit]
    return PublicIncidentPage(
        version=version,
        items=[PublicIncident.model_validate(data) for _seq, data in page],
        next_cursor=str(page[-1][0]) if len(found) > limit else None,
    )


def get_public_cells(session: Session, version: int) -> list[PublicCell]:
    """Every count cell of a published release."""
    row = _published_row(session, version)
    return [PublicCell.model_validate(d) for _k, d in _stored_items(session, row.id, kind="cell")]


def public_content(session: Session, version: int) -> PublicContent:
    """A published release whole: what the public exports are made from."""
    row = _published_row(session, version)
    items = _stored_items(session, row.id)
    cells = [PublicCell.model_validate(d) for k, d in items if k == "cell"]
    return PublicContent(
        release=_public_release(row, cells=len(cells)),
        incidents=[PublicIncident.model_validate(d) for k, d in items if k == "incident"],
        cells=cells,
        indicators=[PublicIndicator.model_validate(d) for k, d in items if k == "indicator"],
    )


def record_export(
    session: Session,
    version: int,
    *,
    fmt: str,
    table: str,
    actor: Actor,
    purpose: str | None = None,
) -> None:
    """Record that a published release was exported (who, when, which file, why if said)."""
    audit.record(
        session,
        actor,
        action="release.export",
        entity_type="release",
        entity_id=version,
        detail={"format": fmt, "table": table},
        purpose=purpose,
    )
