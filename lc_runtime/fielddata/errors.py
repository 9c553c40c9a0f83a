"""Errors the field data raises when a write is not allowed."""

from __future__ import annotations

from xblock.exceptions import InvalidScopeError

__all__ = ["FieldWriteRefused"]


class FieldWriteRefused(InvalidScopeError):
    """
    A field write the runtime refuses, with a message that says why.

    A subclass of XBlock's ``InvalidScopeError`` (whose own constructor only names a scope), so callers
    that catch that keep working.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.args = (message,)

    def __str__(self) -> str:
        return self.message
