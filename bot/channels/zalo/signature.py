"""Webhook authentication for both Zalo surfaces, always compared in constant time.

The OA signs each event as ``X-ZEvent-Signature: mac=<hex sha256(app_id + raw body +
timestamp + OA secret key)>``: plain SHA-256 over the exact bytes received (not HMAC), with
the ``timestamp`` field of the body. The Bot platform sends the shared secret back in
``X-Bot-Api-Secret-Token``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Final

OA_SIGNATURE_HEADER: Final = "X-ZEvent-Signature"
OA_TIMESTAMP_HEADER: Final = "X-ZEvent-Timestamp"
BOT_SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"
MAC_PREFIX: Final = "mac="


def oa_mac(*, app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """The hex MAC Zalo puts after ``mac=`` for this body."""
    digest = hashlib.sha256()
    digest.update(app_id.encode())
    digest.update(body)
    digest.update(timestamp.encode())
    digest.update(secret_key.encode())
    return digest.hexdigest()


def body_timestamp(body: bytes, headers: Mapping[str, str]) -> str:
    """The body's ``timestamp`` field (a millisecond string); the header only as a fallback."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("timestamp"), str | int):
        return str(data["timestamp"])
    return headers.get(OA_TIMESTAMP_HEADER, "")


def verify_oa_signature(
    *, headers: Mapping[str, str], body: bytes, app_id: str, secret_key: str
) -> bool:
    """True only when the header carries the MAC of exactly these bytes."""
    given = headers.get(OA_SIGNATURE_HEADER, "").strip()
    if not given or not secret_key or not app_id:
        return False
    given = given.removeprefix(MAC_PREFIX)
    expected = oa_mac(
        app_id=app_id, body=body, timestamp=body_timestamp(body, headers), secret_key=secret_key
    )
    return secrets.compare_digest(given.lower().encode(), expected.encode())


def verify_bot_secret(*, headers: Mapping[str, str], secret: str) -> bool:
    given = headers.get(BOT_SECRET_HEADER, "")
    if not secret:
        return False
    return secrets.compare_digest(given.encode(), secret.encode())
