"""Users, roles and what each role may see and do.

Passwords are stored as argon2id hashes. The permission table is a pure mapping so the admin and the
CLI ask the same question ("may this role do X?") and tests check it without a database.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import String
from sqlmodel import Field, Session, SQLModel, select

from donorcrm import audit
from donorcrm.db import UTCDateTime, utcnow
from donorcrm.errors import InvalidState, NotFound, ValidationError


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    FUNDRAISER = "fundraiser"
    VIEWER = "viewer"


class Permission(StrEnum):
    VIEW_REPORTS = "view_reports"
    VIEW_DONORS = "view_donors"
    EDIT_DONORS = "edit_donors"
    ERASE_DONORS = "erase_donors"
    VIEW_MONEY = "view_money"  # ledger detail, runs, reconciliation, receipts
    VIEW_BANK_DETAILS = "view_bank_details"  # unmasked IBAN on demand (audit-logged)
    MOVE_MONEY = "move_money"  # runs, bookings, refunds, voids
    MANAGE_CAMPAIGNS = "manage_campaigns"
    MANAGE_USERS = "manage_users"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW_REPORTS}),
    Role.FUNDRAISER: frozenset(
        {Permission.VIEW_REPORTS, Permission.VIEW_DONORS, Permission.EDIT_DONORS, Permission.MANAGE_CAMPAIGNS}
    ),
    Role.FINANCE: frozenset(
        {
            Permission.VIEW_REPORTS,
            Permission.VIEW_DONORS,
            Permission.EDIT_DONORS,
            Permission.VIEW_MONEY,
            Permission.VIEW_BANK_DETAILS,
            Permission.MOVE_MONEY,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


def may(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_type=String(80), unique=True, nullable=False)
    full_name: str = Field(default="", sa_type=String(200))
    role: str = Field(sa_type=String(20), nullable=False)
    password_hash: str = Field(sa_type=String(255), nullable=False)
    active: bool = Field(default=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_login_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationError("a password needs at least 8 characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def add_user(session: Session, username: str, password: str, role: Role | str, full_name: str = "") -> User:
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}; choose one of {', '.join(Role)}") from None
    username = username.strip()
    if not username:
        raise ValidationError("a username is required")
    if session.exec(select(User).where(User.username == username)).first():
        raise InvalidState(f"user {username!r} exists already")
    user = User(username=username, full_name=full_name, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session, "user.add", "user", user.id, after={"username": username, "role": str(role)})
    return user


def set_role(session: Session, username: str, role: Role | str) -> User:
    user = get_user(session, username)
    before = user.role
    user.role = Role(role)
    session.add(user)
    audit.record(session, "user.role", "user", user.id, before={"role": before}, after={"role": str(role)})
    return user


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password matches and the account is active; records the login."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        audit.record(session, "user.login_failed", "user", None, after={"username": username}, actor=username)
        return None
    user.last_login_at = utcnow()
    session.add(user)
    audit.record(session, "user.login", "user", user.id, actor=username)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))
