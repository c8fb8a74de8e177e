"""Alembic migrations. One branch per domain package, all rooted in the core revision.

`donorcrm db upgrade` runs `alembic upgrade heads`, so domain packages can add their tables in their
own branch without waiting for each other.
"""
