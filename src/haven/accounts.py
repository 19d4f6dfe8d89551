"""Organisations, users, roles and API tokens: who is acting, and what their role allows."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from haven.models import ApiTokenRow, OrganisationRow, UserRow, utcnow

__all__ = [
    "SYSTEM",
    "Actor",
    "Permission",
    "Role",
    "add_user",
    "authenticate_token",
    "create_token",
    "ensure_organisation",
    "require",
    "revoke_token",
    "verify_password",
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


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.REPORTER: frozenset({Permission.SUBMIT_REPORT}),
    Role.VERIFIER: frozenset({Permission.SUBMIT_REPORT, Permission.READ_INCIDENTS}),
    Role.ANALYST: frozenset({Permission.SUBMIT_REPORT, Permission.READ_INCIDENTS}),
    Role.COORDINATOR: frozenset({Permission.SUBMIT_REPORT, Permission.READ_INCIDENTS}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a signed-in user, or the system itself (CLI, demo loader)."""

    label: str
    role: Role
    user_id: int | None = None
    organisation_id: int | None = None

    def can(self, permission: Permission) -> bool:
        """Whether the actor's role grants ``permission``."""
        return permission in _GRANTS[self.role]


SYSTEM = Actor(label="system", role=Role.ADMIN)
"""The actor for work an operator runs on the server itself (``haven demo``, ``haven init``)."""


def require(actor: Actor, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless the actor's role grants ``permission``."""
    if not actor.can(permission):
        raise PermissionDenied(f"the {actor.role} role may not {permission.replace('_', ' ')}")


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


def add_user(
    session: Session,
    username: str,
    *,
    role: Role,
    organisation: str,
    password: str | None,
    display_name: str | None = None,
    actor: Actor,
) -> int:
    """Create a user and return their id; the password is stored as an argon2id hash."""
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
    org_id = ensure_organisation(session, organisation)
    row = UserRow(
        username=username,
        display_name=display_name or username,
        organisation_id=org_id,
        role=role.value,
        password_hash=_hasher.hash(password) if password is not None else None,
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


def verify_password(session: Session, username: str, *, password: str) -> Actor:
    """The actor for ``username`` if ``password`` is right; ``NotAuthenticated`` otherwise."""
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None or not row.active or row.password_hash is None:
        raise NotAuthenticated("wrong username or password")
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise NotAuthenticated("wrong username or password") from exc
    return _actor_of(row)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, *, name: str, actor: Actor) -> str:
    """Create an API token for ``username`` and return it; it is shown once, stored hashed."""
    require(actor, Permission.MANAGE_USERS)
    user_id = session.scalar(select(UserRow.id).where(UserRow.username == username))
    if user_id is None:
        raise NotFound(f"no user called {username!r}", fields={"username": "unknown"})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(user_id=user_id, name=name, token_sha256=_sha256(token), prefix=token[:10])
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="token.create",
        entity_type="api_token",
        entity_id=row.id,
        detail={"user": username},
    )
    return token


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
    """The actor a bearer token belongs to; ``NotAuthenticated`` if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("malformed API token")
    row = session.execute(
        select(UserRow, ApiTokenRow.revoked_at)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_sha256 == _sha256(token))
    ).first()
    if row is None or row[1] is not None or not row[0].active:
        raise NotAuthenticated("unknown or revoked API token")
    return _actor_of(row[0])


def _actor_of(row: UserRow) -> Actor:
    return Actor(
        label=row.username,
        role=Role(row.role),
        user_id=row.id,
        organisation_id=row.organisation_id,
    )
