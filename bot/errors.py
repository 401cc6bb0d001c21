"""Domain errors: raised by use cases, translated into words by the handlers.

A use case never phrases a message for a person; it raises `DomainError` with a stable `code`
and the values a message needs, and the handler layer picks the translated sentence.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that the rules refuse; `code` names the rule, `params` fill the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class DuplicateUpdate(Exception):
    """The update was applied already (Telegram redelivered it); nothing was changed."""


class StaleAction(Exception):
    """A button from an earlier step or an earlier draft; nothing was changed."""
