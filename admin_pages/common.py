"""What every admin page shares: the cached engine, the logged-in user, role checks and formatting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm import audit
from donorcrm.auth import Permission, Role, authenticate, may
from donorcrm.auth import get_user as load_user
from donorcrm.config import database_url, get_settings
from donorcrm.db import make_engine, session_scope
from donorcrm.errors import NotFound
from donorcrm.gifts import summary
from donorcrm.money import Money

AUTH_KEY = "auth"


@st.cache_resource(show_spinner="Opening the database…")
def _engine(url: str) -> Engine:
    """One engine per server process; the first one also brings the report summaries up to date if
    rows were loaded around the services (a raw bulk load)."""
    engine = make_engine(url)
    with session_scope(engine) as s:
        summary.ensure_current(s)
    return engine


def engine() -> Engine:
    return _engine(database_url())


@contextmanager
def db() -> Iterator[Session]:
    """A unit of work as the logged-in user (their name goes into the audit trail)."""
    user = st.session_state.get(AUTH_KEY) or {}
    with audit.acting_as(f"admin:{user.get('username', 'anonymous')}"), session_scope(engine()) as s:
        yield s


@dataclass(frozen=True)
class CurrentUser:
    username: str
    role: Role
    full_name: str

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)


def log_in(username: str, password: str) -> CurrentUser | None:
    with audit.acting_as(f"admin:{username}"), session_scope(engine()) as s:
        user = authenticate(s, username, password)
        if user is None:
            return None
        current = CurrentUser(user.username, Role(user.role), user.full_name)
    st.session_state[AUTH_KEY] = {"username": current.username, "last_seen": time.time()}
    return current


def log_out(reason: str | None = None) -> None:
    st.session_state.pop(AUTH_KEY, None)
    if reason:
        st.session_state["logout_reason"] = reason


def current_user() -> CurrentUser | None:
    """The logged-in user, re-read from the database on every run (a changed role or a deactivated
    account takes effect at once); None after logging out or after the inactivity timeout."""
    auth = st.session_state.get(AUTH_KEY)
    if not auth:
        return None
    timeout = get_settings().session_timeout_minutes * 60
    now = time.time()
    if now - float(auth.get("last_seen", 0)) > timeout:
        log_out("Your session expired after inactivity. Please log in again.")
        return None
    try:
        with session_scope(engine()) as s:
            user = load_user(s, auth["username"])
            if not user.active:
                raise NotFound("inactive")
            current = CurrentUser(user.username, Role(user.role), user.full_name)
    except NotFound:
        log_out("Your account is no longer active.")
        return None
    auth["last_seen"] = now
    return current


def require(permission: Permission) -> CurrentUser:
    """Stop the page unless someone is logged in whose role has this permission."""
    user = current_user()
    if user is None:
        st.warning(st.session_state.get("logout_reason") or "Please log in to use the admin.")
        st.stop()
    if not user.may(permission):
        st.error(f"Access denied: the {user.role} role may not open this page.")
        st.stop()
    return user  # type: ignore[return-value]


def money(minor: int | Fraction | None, currency: str | None = None) -> str:
    if minor is None:
        return "–"
    return Money(round(minor), currency or get_settings().currency).format()


def euros(minor: int) -> float:
    """For charts only: the axis wants a number. Tables show `money`."""
    return minor / 100


def pct(value: Fraction | float | None) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def missing(what: str, source: str) -> None:
    """An honest placeholder for a section whose data source is not installed yet."""
    st.info(f"{what}: not available yet: the data source ({source}) is not part of this installation.")
