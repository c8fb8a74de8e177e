"""Read-only reports that aggregate in the database; the CLI and the admin only render them."""
