"""Users: list, add, change roles (administrators only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm import auth
from donorcrm.auth import Permission, Role
from donorcrm.errors import DonorCrmError

me = common.require(Permission.MANAGE_USERS)
st.title("Users")

with common.db() as s:
    users = [(u.username, u.full_name, u.role, u.active, u.last_login_at) for u in auth.list_users(s)]
st.dataframe(pd.DataFrame(users, columns=["Username", "Name", "Role", "Active", "Last login"]), hide_index=True,
             width="stretch")

st.subheader("Add a user")
c1, c2, c3, c4 = st.columns(4)
username = c1.text_input("Username", key="user_new_name")
full_name = c2.text_input("Full name", key="user_new_full")
role = c3.selectbox("Role", list(Role), key="user_new_role")
password = c4.text_input("Initial password", type="password", key="user_new_password")
if st.button("Add user", key="user_add"):
    try:
        with common.db() as s:
            auth.add_user(s, username, password, role, full_name=full_name)
        st.success(f"User {username} added.")
        st.rerun()
    except DonorCrmError as exc:
        st.error(str(exc))

st.subheader("Change a role")
c1, c2 = st.columns(2)
who = c1.selectbox("User", [u[0] for u in users], key="user_role_who")
new_role = c2.selectbox("New role", list(Role), key="user_role_new")
if st.button("Change role", key="user_role_go"):
    if who == me.username and new_role != Role.ADMIN:
        st.error("You cannot take away your own administrator role.")
    else:
        with common.db() as s:
            auth.set_role(s, who, new_role)
        st.success(f"{who} is now {new_role}.")
        st.rerun()
