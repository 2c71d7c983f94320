"""Passwords (argon2id), one-time passwords, session tokens and their digests.

Hashing is CPU work (tens of milliseconds by design): callers in the event loop run it in
a thread (:func:`hash_password_async`, :func:`verify_password_async`).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: argon2-cffi's defaults follow RFC 9106's second recommended option (argon2id).
_HASHER: Final = PasswordHasher()
ONE_TIME_PASSWORD_BYTES = 12
TOKEN_BYTES = 32
LINK_CODE_DIGITS = 8
MIN_PASSWORD_LENGTH = 10
_DUMMY_PASSWORD: Final = "not a real password, only for timing"


@functools.cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so both cases take the same time. Hashed on
    first use, not at import: argon2 fills 64 MB to hash, which set every process's peak
    RSS (issue 16), login or not."""
    return _HASHER.hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored_hash, password)


def one_time_password() -> str:
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def link_code() -> str:
    """Digits only: easy to type on a phone, used once, valid for minutes."""
    return "".join(secrets.choice("0123456789") for _ in range(LINK_CODE_DIGITS))


def digest(token: str) -> str:
    """What the database keeps of a token or code (SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
