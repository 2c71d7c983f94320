"""Secrets at rest (OAuth tokens, the app secret) sealed with a key from the environment.

Fernet (AES-128-CBC with HMAC-SHA256) from ``cryptography``: a stolen database file or
backup does not give anyone the Center's OA.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretBoxError(Exception):
    """The key is malformed, or a sealed value was written with another key."""


class SecretBox:
    """Seals and opens short secrets; ``key`` is a Fernet key (``khuyencong zalo key``)."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            msg = "ZALO_TOKEN_KEY must be a Fernet key (32 url-safe base64 bytes)"
            raise SecretBoxError(msg) from exc

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            msg = "a stored Zalo secret cannot be opened with ZALO_TOKEN_KEY"
            raise SecretBoxError(msg) from exc
