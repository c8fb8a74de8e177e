"""The login form (the only page before logging in)."""

from __future__ import annotations

import streamlit as st

from admin_pages import common


def render() -> None:
    st.title("donorcrm admin")
    reason = st.session_state.get("logout_reason")
    if reason:
        st.info(reason)
    username = st.text_input("Username", key="login_username")
    password = st.text_input("Password", type="password", key="login_password")
    if st.button("Log in", key="login_submit", type="primary"):
        if common.log_in(username.strip(), password) is None:
            st.error("Unknown user or wrong password.")
        else:
            st.session_state.pop("logout_reason", None)
            st.rerun()
