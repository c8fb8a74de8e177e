"""The small exception tree of donorcrm and the Problem value for collected validation errors."""

from __future__ import annotations

from dataclasses import dataclass


class DonorCrmError(Exception):
    """Base of every error donorcrm raises on purpose; the CLI prints these as one line."""


class MoneyError(DonorCrmError, ValueError):
    pass


class ValidationError(DonorCrmError, ValueError):
    """Input that cannot be accepted; carries the problems found."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFound(DonorCrmError, LookupError):
    pass


class InvalidState(DonorCrmError):
    """A transition asked from a state that does not allow it."""


class PermissionDenied(DonorCrmError):
    pass


class ProviderError(DonorCrmError):
    def __init__(self, provider: str, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(f"{provider}: {code}: {message}")
        self.provider, self.code, self.retryable = provider, code, retryable


class WebhookSignatureError(DonorCrmError):
    pass


class FileFormatError(DonorCrmError, ValueError):
    """A bank or provider file that does not follow its format; says where."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one place of an input (a CSV line, an XML element)."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"
