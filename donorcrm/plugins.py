"""Wires the domain packages' reactions to each other's events (gift booked, donor merged or erased).

Kept in one place so the order is visible and nothing registers twice.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from donorcrm import bequests
    from donorcrm.banking import expected as bank_expectations
    from donorcrm.campaigns import service as campaigns

    campaigns.register_hooks()
    bequests.register()
    from donorcrm.grants import hooks as grants

    grants.register()
    from donorcrm.receipts import merging as receipts

    receipts.register()
    bank_expectations.register()
