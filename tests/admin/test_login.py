"""The router: login, wrong passwords, session expiry, roles deciding the page list."""

import time

from tests.admin.conftest import app


def test_login_is_required_and_a_wrong_password_is_refused(db_url: str) -> None:
    at = app()
    assert at.text_input(key="login_username") is not None
    at.text_input(key="login_username").input("finance")
    at.text_input(key="login_password").input("wrong-password")
    at.button(key="login_submit").click().run()
    assert "auth" not in at.session_state
    assert any("wrong password" in e.value for e in at.error)


def test_login_opens_the_overview(db_url: str) -> None:
    at = app()
    at.text_input(key="login_username").input("finance")
    at.text_input(key="login_password").input("demo-finance")
    at.button(key="login_submit").click().run()
    assert at.session_state["auth"]["username"] == "finance"
    assert [t.value for t in at.title] == ["Overview"]
    assert not at.exception


def test_session_expires_after_inactivity(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DONORCRM_SESSION_TIMEOUT_MINUTES", "5")
    at = app("admin")
    assert [t.value for t in at.title] == ["Overview"]
    at.session_state["auth"] = {"username": "admin", "last_seen": time.time() - 6 * 60}
    at.run()
    assert "auth" not in at.session_state
    assert any("expired" in i.value for i in at.info)
    assert at.text_input(key="login_username") is not None


def test_log_out(db_url: str) -> None:
    at = app("viewer")
    at.button(key="logout").click().run()
    assert "auth" not in at.session_state


def test_unknown_or_removed_user_in_session_is_logged_out(db_url: str) -> None:
    at = app("nobody")
    assert "auth" not in at.session_state
    assert at.text_input(key="login_username") is not None
