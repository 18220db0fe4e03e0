"""Domain exceptions, raised by services and turned into answers in one place (tracker.errors)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A user action that cannot be done; the message is a (lazy) translated string."""

    status = 422

    def __init__(self, message: Any, *, field: str | None = None, **params: Any) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.params = params

    def text(self) -> str:
        """The message in the current locale, with its parameters filled in."""
        message = str(self.message)
        return message % self.params if self.params else message

    def errors(self) -> dict[str, list[str]]:
        """The flask-smorest error shape: {field: [messages]}."""
        return {self.field or "_schema": [self.text()]}

    def said(self) -> str:
        """What a person reads at the top of a page: the messages, without the internal
        names of the fields they are about (`text` gives those, for a program)."""
        return " ".join(dict.fromkeys(m for msgs in self.errors().values() for m in msgs))

    def details(self) -> dict[str, Any]:
        """More members of the JSON error body, beside code, status, message and errors."""
        return {}


class NotFound(DomainError):
    """The record does not exist, or belongs to a cooperative the user cannot see."""

    status = 404


class Forbidden(DomainError):
    """The user can see the record but their role may not do this."""

    status = 403


class Conflict(DomainError):
    """The action collides with the current state (already used, already voided...)."""

    status = 409


class ValidationFailed(DomainError):
    """Input broke one or more rules; errors maps fields (or CSV lines) to messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]] | None = None, message: Any = None) -> None:
        super().__init__(message or "invalid input")
        self._errors = errors or {}

    def errors(self) -> dict[str, list[str]]:
        return {key: [str(m) for m in msgs] for key, msgs in self._errors.items()}

    def text(self) -> str:
        return summary(self.errors())


def summary(errors: dict[str, Any]) -> str:
    """Refusals by field in one line ("field: message; other: message"): ValidationFailed's
    message, which the error page does not say again above the refusals."""
    return "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in errors.items())
