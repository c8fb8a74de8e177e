"""What donorcrm does with a returned or rejected direct debit (domain rules §1.7).

``decide`` is a pure function of the reason code; ``service.apply_return`` carries the decision out
(and is what bank reconciliation calls for returns it finds on a camt.053 statement).
"""

from __future__ import annotations

from dataclasses import dataclass

from donorcrm.gifts.categories import EntryType


@dataclass(frozen=True, slots=True)
class Action:
    code: str
    name: str  # short label for lists and the admin
    entry_type: str = EntryType.RETURN  # how the gift is reversed
    retry: bool = False  # collect the period again in the next run (up to the retry setting)
    counts_as_failure: bool = False  # towards pausing the commitment after N in a row
    cancel_mandate: bool = False
    cancel_all_mandates: bool = False
    mark_deceased: bool = False
    stop_for_human: bool = False  # our own error: stop and look before the next run
    review: bool = False  # a person should look at it (follow-up list)
    ask_new_details: bool = False
    retention_call: bool = False


_TABLE: dict[str, Action] = {}


def _add(codes: str, **kw: object) -> None:
    for code in codes.split():
        _TABLE[code] = Action(code=code, **kw)  # type: ignore[arg-type]


_add("AM04 MS03", name="retry", retry=True, counts_as_failure=True)
_add("MS02", name="refused", counts_as_failure=True)
_add("MD06", name="refund", entry_type=EntryType.REFUND, review=True, retention_call=True)
_add("AC01 AC04 AC06 RC01", name="cancel_mandate", cancel_mandate=True, review=True, ask_new_details=True)
_add("MD01 MD02", name="cancel_mandate", cancel_mandate=True, review=True)
_add("MD07", name="deceased", cancel_mandate=True, cancel_all_mandates=True, mark_deceased=True, review=True)
_add("AG01 AG02 FF05 BE05 AM05", name="stop_run", stop_for_human=True, review=True)
_add("SL01 RR01 RR02 RR03 RR04", name="review", review=True)


def decide(reason_code: str) -> Action:
    """The action for a reason code; an unknown code is reversed and sent to a person."""
    code = (reason_code or "").strip().upper()
    found = _TABLE.get(code)
    if found is not None:
        return found
    return Action(code=code or "????", name="review", review=True)


KNOWN_CODES = tuple(sorted(_TABLE))
