"""The admin's pages: each renders what donorcrm.reports and the services return, and checks the
user's role itself (a page a role may not see refuses to render, whatever link led there)."""
