"""Organisations, users, roles and API tokens: who is acting, and what their role allows."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from haven.geo import iso3_country
from haven.models import ApiTokenRow, OrganisationRow, UserRow, utcnow

__all__ = [
    "SYSTEM",
    "Actor",
    "Permission",
    "Role",
    "actor_for",
    "actor_named",
    "add_user",
    "authenticate_token",
    "create_token",
    "ensure_organisation",
    "require",
    "revoke_token",
]

TOKEN_PREFIX = "hvn_"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class Role(StrEnum):
    """What a user does in Haven."""

    REPORTER = "reporter"
    VERIFIER = "verifier"
    ANALYST = "analyst"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Permission(StrEnum):
    """Actions that roles grant."""

    SUBMIT_REPORT = "submit_report"
    READ_INCIDENTS = "read_incidents"
    MANAGE_USERS = "manage_users"
    READ_SENSITIVE = "read_sensitive"
    """Open encrypted fields (narratives, reporter identity, victims); each read is audited."""
    PREPARE_RELEASE = "prepare_release"
    """Preview, create, publish and withdraw public releases (see docs/privacy.md)."""
    APPROVE_RELEASE = "approve_release"
    """Approve a release someone else created (the two-person rule); withdraw one."""
    IMPORT_DATA = "import_data"
    """Import published datasets (``haven import``, ``POST /api/imports``); admins only."""
    VERIFY = "verify"
    """Grade certainty, move incidents through verification, comment (see docs/verification.md)."""
    MANAGE_FACILITIES = "manage_facilities"
    """Register and edit facilities, record their status and movements (docs/facilities.md)."""
    NOTIFY = "notify"
    """Manage parties and notifications, record acknowledgements (docs/notifications.md)."""


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.REPORTER: frozenset({Permission.SUBMIT_REPORT}),
    Role.VERIFIER: frozenset(
        {
            Permission.SUBMIT_REPORT,
            Permission.READ_INCIDENTS,
            Permission.READ_SENSITIVE,
            Permission.VERIFY,
        }
    ),
    Role.ANALYST: frozenset(
        {Permission.SUBMIT_REPORT, Permission.READ_INCIDENTS, Permission.PREPARE_RELEASE}
    ),
    Role.COORDINATOR: frozenset(
        {
            Permission.SUBMIT_REPORT,
            Permission.READ_INCIDENTS,
            Permission.PREPARE_RELEASE,
            Permission.APPROVE_RELEASE,
            Permission.VERIFY,
            Permission.NOTIFY,
            Permission.MANAGE_FACILITIES,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a signed-in user, or the system itself (CLI, demo loader)."""

    label: str
    role: Role
    user_id: int | None = None
    organisation_id: int | None = None
    scopes: frozenset[Permission] | None = None
    """For a scoped API token: the only permissions it may use (within its role's)."""
    countries: frozenset[str] = frozenset()
    """Need-to-know: the ISO3 countries this actor may see; empty means every country."""

    def can(self, permission: Permission) -> bool:
        """Whether the actor's role grants ``permission`` (and its token's scopes include it)."""
        if self.scopes is not None and permission not in self.scopes:
            return False
        return permission in _GRANTS[self.role]


SYSTEM = Actor(label="system", role=Role.ADMIN)
"""The actor for work an operator runs on the server itself (``haven demo``, ``haven init``)."""


def require(actor: Actor, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless the actor's role grants ``permission``."""
    if not actor.can(permission):
        what = permission.replace("_", " ")
        if permission in _GRANTS[actor.role]:
            raise PermissionDenied(f"this token's scopes do not include {permission.value}")
        raise PermissionDenied(f"the {actor.role} role may not {what}")


def ensure_organisation(session: Session, name: str, *, country: str | None = None) -> int:
    """The id of the organisation called ``name``, creating it if needed."""
    name = name.strip()
    if not name:
        raise InvalidInput("organisation name is empty", fields={"organisation": "is empty"})
    found = session.scalar(select(OrganisationRow.id).where(OrganisationRow.name == name))
    if found is not None:
        return found
    row = OrganisationRow(name=name, country=country)
    session.add(row)
    session.flush()
    audit.record(
        session,
        SYSTEM,
        action="organisation.create",
        entity_type="organisation",
        entity_id=row.id,
        detail={"name": name},
    )
    return row.id


def add_user(  # noqa: PLR0913 - one parameter per user attribute
    session: Session,
    username: str,
    *,
    role: Role,
    organisation: str,
    password: str | None,
    display_name: str | None = None,
    actor: Actor,
    hasher: PasswordHasher | None = None,
    countries: tuple[str, ...] = (),
) -> int:
    """Create a user and return their id; the password is stored as an argon2id hash.

    ``hasher`` sets the argon2id cost (``sessions.password_hasher(settings)``);
    without it, argon2-cffi's defaults (RFC 9106 low-memory).
    """
    require(actor, Permission.MANAGE_USERS)
    if not _USERNAME.match(username):
        raise InvalidInput(
            "invalid username",
            fields={"username": "2-80 characters: lowercase letters, digits, '.', '_' or '-'"},
        )
    if password is not None and len(password) < 12:
        raise InvalidInput(
            "password too short", fields={"password": "needs at least 12 characters"}
        )
    if session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", fields={"username": "is taken"})
    try:
        codes = sorted({iso3_country(c) for c in countries})
    except ValueError as exc:
        raise InvalidInput("unknown country", fields={"countries": str(exc)}) from exc
    org_id = ensure_organisation(session, organisation)
    row = UserRow(
        countries=codes,
        username=username,
        display_name=display_name or username,
        organisation_id=org_id,
        role=role.value,
        password_hash=(hasher or _hasher).hash(password) if password is not None else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="user.create",
        entity_type="user",
        entity_id=row.id,
        detail={"username": username, "role": role.value},
    )
    return row.id


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    username: str,
    *,
    name: str,
    actor: Actor,
    scopes: frozenset[Permission] | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Create an API token for ``username`` and return it; it is shown once, stored hashed.

    ``scopes`` limits the token to those permissions (each must be one the
    user's role grants); ``expires_at`` (UTC) ends it. Without them the token
    can do what the role allows until it is revoked.
    """
    require(actor, Permission.MANAGE_USERS)
    user = session.execute(
        select(UserRow.id, UserRow.role).where(UserRow.username == username)
    ).first()
    if user is None:
        raise NotFound(f"no user called {username!r}", fields={"username": "unknown"})
    if scopes is not None:
        _check_scopes(scopes, role=Role(user.role))
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("the token would already be expired", fields={"expires": "in the past"})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        user_id=user.id,
        name=name,
        token_sha256=_sha256(token),
        prefix=token[:10],
        scopes=sorted(scopes) if scopes is not None else [],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="token.create",
        entity_type="api_token",
        entity_id=row.id,
        detail={
            "user": username,
            "prefix": row.prefix,
            "scopes": row.scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token


def _check_scopes(scopes: frozenset[Permission], *, role: Role) -> None:
    if not scopes:
        raise InvalidInput("a scoped token needs at least one scope", fields={"scope": "empty"})
    outside = sorted(scopes - _GRANTS[role])
    if outside:
        raise InvalidInput(
            f"the {role} role does not grant {', '.join(outside)}",
            fields={"scope": f"not granted to {role}: {', '.join(outside)}"},
        )


def revoke_token(session: Session, prefix: str, *, actor: Actor) -> None:
    """Revoke every live token whose shown prefix is ``prefix``."""
    require(actor, Permission.MANAGE_USERS)
    rows = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.prefix == prefix, ApiTokenRow.revoked_at.is_(None))
    ).all()
    if not rows:
        raise NotFound(f"no live token starts with {prefix!r}", fields={"prefix": "unknown"})
    for row in rows:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            action="token.revoke",
            entity_type="api_token",
            entity_id=row.id,
            detail={},
        )


def authenticate_token(session: Session, token: str) -> Actor:
    """The actor a bearer token belongs to, limited to its scopes.

    ``NotAuthenticated`` if the token is unknown, revoked or expired, or its user inactive.
    """
    if not token.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("malformed API token")
    row = session.execute(
        select(UserRow, ApiTokenRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_sha256 == _sha256(token))
    ).first()
    if row is None or row[1].revoked_at is not None or not row[0].active:
        raise NotAuthenticated("unknown or revoked API token")
    user, api_token = row
    if api_token.expires_at is not None and api_token.expires_at <= utcnow():
        raise NotAuthenticated("expired API token")
    scopes = frozenset(Permission(s) for s in api_token.scopes) if api_token.scopes else None
    return actor_for(user, scopes=scopes)


def actor_named(session: Session, username: str) -> Actor:
    """The actor an active user acts as, by username; ``NotFound`` if there is none.

    For the command line, where an operator names the person on whose behalf
    they act (e.g. ``haven release approve 3 --as amal``).
    """
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None or not row.active:
        raise NotFound(f"no active user called {username!r}", fields={"as": "unknown user"})
    return actor_for(row)


def actor_for(row: UserRow, *, scopes: frozenset[Permission] | None = None) -> Actor:
    """The actor a stored user acts as (limited to ``scopes`` for a scoped token)."""
    return Actor(
        label=row.username,
        role=Role(row.role),
        user_id=row.id,
        organisation_id=row.organisation_id,
        scopes=scopes,
        countries=frozenset(row.countries or ()),
    )
