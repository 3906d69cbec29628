"""The one error type the SDK raises: the server's error code, or NETWORK_ERROR / TIMEOUT."""
from typing import Any, Optional


class SDKError(RuntimeError):
    """A refused or failed API call.

    ``code`` is the server's stable error code (``unauthenticated``, ``insufficient_scope``,
    ``not_found``, ...) or ``NETWORK_ERROR`` / ``TIMEOUT`` when no answer arrived; ``status``
    is the HTTP status, 0 without an answer.
    """

    def __init__(self, code: str, status: int, message: str, details: Optional[Any] = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return "SDKError(code={!r}, status={!r}, message={!r})".format(self.code, self.status, self.message)
