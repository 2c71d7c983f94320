"""The OA's OAuth v4 tokens: single-flight refresh across workers, committed before use.

Zalo's refresh tokens are single-use: each refresh returns a new pair and kills the old
refresh token. So one refresh at a time across every worker (the row is locked by an update
before it is re-read), and the new pair is committed before the access token is used: a
crash after Zalo rotated but before the commit would lose the grant. The access token is
refreshed ahead of its expiry, and once more when Zalo calls it invalid. A refresh that
fails (Zalo refuses the refresh token, or its answer was lost after it rotated) marks the
OA as needing re-authorisation, alerts staff once, and stops refreshing until an admin
grants access again: never a silent loop.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.zalo.crypto import SecretBox
from bot.core.clock import Clock
from storage import Database
from storage.models.channels import ZaloToken

log = logging.getLogger(__name__)

DEFAULT_OAUTH_BASE: Final = "https://oauth.zaloapp.com"
TOKEN_PATH: Final = "/v4/oa/access_token"
PERMISSION_PATH: Final = "/v4/oa/permission"
#: Access tokens live 25 h; refresh after 20 h, i.e. when less than 5 h remain.
REFRESH_MARGIN: Final = timedelta(hours=5)
DEFAULT_LIFETIME_SECONDS: Final = 90_000
HTTP_TIMEOUT_SECONDS: Final = 15.0
ERROR_LENGTH: Final = 200

#: Called inside the transaction that marks the OA as needing re-authorisation (staff alert).
ReauthHook = Callable[[AsyncSession, str], None]


class ZaloAuthError(Exception):
    """No usable access token: the OA must be authorised (again) by an admin."""


class _RefreshRefusedError(Exception):
    """Zalo answered the refresh with an error: the refresh token is spent or revoked."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def code_challenge(verifier: str) -> str:
    """PKCE S256: base64url without padding of SHA-256(verifier)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class OAuthClient:
    """``POST /v4/oa/access_token`` (the secret in the ``secret_key`` header, a form body)."""

    def __init__(self, *, base_url: str, app_id: str, session: aiohttp.ClientSession) -> None:
        self._url = base_url.rstrip("/") + TOKEN_PATH
        self._app_id = app_id
        self._session = session
        self.calls = 0

    async def exchange_code(self, *, code: str, verifier: str, app_secret: str) -> TokenPair:
        form = {"code": code, "app_id": self._app_id, "grant_type": "authorization_code"}
        if verifier:
            form["code_verifier"] = verifier
        return await self._post(form, app_secret)

    async def refresh(self, *, refresh_token: str, app_secret: str) -> TokenPair:
        form = {
            "refresh_token": refresh_token,
            "app_id": self._app_id,
            "grant_type": "refresh_token",
        }
        return await self._post(form, app_secret)

    async def _post(self, form: dict[str, str], app_secret: str) -> TokenPair:
        self.calls += 1
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
        async with self._session.post(
            self._url, data=form, headers={"secret_key": app_secret}, timeout=timeout
        ) as response:
            body: Any = await response.json(content_type=None)
        if not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) else None
            name = body.get("error_name") or body.get("message") if isinstance(body, dict) else ""
            raise _RefreshRefusedError(f"zalo oauth {error}: {name}"[:ERROR_LENGTH])
        return TokenPair(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_in=int(str(body.get("expires_in") or DEFAULT_LIFETIME_SECONDS)),
        )


class TokenStore:
    """The access token for one OA, from the ``zalo_token`` row."""

    def __init__(
        self,
        *,
        database: Database,
        box: SecretBox,
        oauth: OAuthClient,
        oa_id: str,
        clock: Clock,
        app_secret: str | None = None,
        on_reauth_needed: ReauthHook | None = None,
    ) -> None:
        self._database = database
        self._box = box
        self._oauth = oauth
        self._oa_id = oa_id
        self._clock = clock
        self._app_secret = app_secret
        self._on_reauth_needed = on_reauth_needed
        self._cached: tuple[str, datetime] | None = None

    @property
    def oa_id(self) -> str:
        return self._oa_id

    async def access_token(self) -> str:
        """A valid access token, refreshed first when it is close to expiry."""
        now = self._clock.now()
        if self._cached is not None and self._cached[1] - REFRESH_MARGIN > now:
            return self._cached[0]
        async with self._database.transaction() as session:  # reads only: no write lock
            row = await session.get(ZaloToken, self._oa_id)
            if row is None or not row.access_token:
                raise ZaloAuthError("the OA has not been authorised yet")
            if row.needs_reauth:
                raise ZaloAuthError("the OA needs re-authorisation")
            if row.access_expires_at - REFRESH_MARGIN > now:
                token = self._box.open(row.access_token)
                self._cached = (token, row.access_expires_at)
                return token
        return await self.refresh()

    async def refresh(self, *, failed_token: str | None = None) -> str:
        """Refresh under the row lock; a worker that waited for another's refresh uses the
        pair that one committed. ``failed_token`` is the token Zalo just called invalid."""
        self._cached = None
        refused: str | None = None
        async with self._database.transaction() as session:
            # The update takes the row lock (PostgreSQL) or the database's writer (SQLite)
            # before the row is read: a second worker waits here, then sees the new pair.
            await session.execute(
                update(ZaloToken)
                .where(ZaloToken.oa_id == self._oa_id)
                .values(oa_id=ZaloToken.oa_id)
            )
            row = await session.get(ZaloToken, self._oa_id, populate_existing=True)
            if row is None or not row.refresh_token:
                raise ZaloAuthError("the OA has not been authorised yet")
            if row.needs_reauth:
                raise ZaloAuthError("the OA needs re-authorisation")
            now = self._clock.now()
            current = self._box.open(row.access_token) if row.access_token else ""
            fresh_enough = row.access_expires_at - REFRESH_MARGIN > now
            if current and fresh_enough and current != failed_token:
                self._cached = (current, row.access_expires_at)
                return current  # another worker refreshed while this one waited
            try:
                pair = await self._call_refresh(row)
            except _RefreshRefusedError as exc:
                # Committed with this transaction although the caller's send fails: the flag
                # and the staff alert must stay.
                refused = str(exc)
                log.error("zalo token refresh refused; an OA admin must authorise again")
                row.needs_reauth = True
                row.last_error = refused[:ERROR_LENGTH]
                if self._on_reauth_needed is not None:
                    self._on_reauth_needed(session, refused)
            else:
                row.access_token = self._box.seal(pair.access_token)
                row.refresh_token = self._box.seal(pair.refresh_token)
                row.access_expires_at = now + timedelta(seconds=pair.expires_in)
                row.rotated_at = now
                row.last_error = ""
                expires = row.access_expires_at
        if refused is not None:
            raise ZaloAuthError("the OA needs re-authorisation")
        # Committed: only now is the new token used.
        self._cached = (pair.access_token, expires)
        log.info("zalo OA access token refreshed")
        return pair.access_token

    async def _call_refresh(self, row: ZaloToken) -> TokenPair:
        secret = self._app_secret or (self._box.open(row.app_secret) if row.app_secret else "")
        refresh_token = self._box.open(row.refresh_token)
        try:
            return await self._oauth.refresh(refresh_token=refresh_token, app_secret=secret)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            # The answer was lost. If Zalo never got the request the token still works; if
            # it rotated, this second try is refused and the grant is gone (re-authorise).
            log.warning("zalo token refresh got no answer; trying once more")
            return await self._oauth.refresh(refresh_token=refresh_token, app_secret=secret)

    async def status(self) -> str:
        """``ok``, ``not_authorised`` or ``needs_reauthorisation`` (for /healthz)."""
        async with self._database.transaction() as session:
            row = await session.get(ZaloToken, self._oa_id)
        if row is None or not row.access_token:
            return "not_authorised"
        return "needs_reauthorisation" if row.needs_reauth else "ok"

    async def save_grant(self, pair: TokenPair, *, app_secret: str | None = None) -> None:
        """Store a fresh grant (code exchange or a pair pasted from API Explorer)."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            row = await session.get(ZaloToken, self._oa_id)
            if row is None:
                row = ZaloToken(oa_id=self._oa_id)
                session.add(row)
            row.access_token = self._box.seal(pair.access_token)
            row.refresh_token = self._box.seal(pair.refresh_token)
            if app_secret:
                row.app_secret = self._box.seal(app_secret)
            row.access_expires_at = now + timedelta(seconds=pair.expires_in)
            row.rotated_at = now
            row.needs_reauth = False
            row.last_error = ""
            row.pending_state = ""
        self._cached = None

    async def begin_grant(self, *, state: str, app_secret: str | None = None) -> None:
        """Remember the permission link's ``state`` (hashed) until its callback comes."""
        async with self._database.transaction() as session:
            row = await session.get(ZaloToken, self._oa_id)
            if row is None:
                now = self._clock.now()
                row = ZaloToken(oa_id=self._oa_id, rotated_at=now, access_expires_at=now)
                session.add(row)
            row.pending_state = state_hash(state)
            if app_secret:
                row.app_secret = self._box.seal(app_secret)

    async def complete_grant(self, *, state: str, code: str, verifier: str) -> bool:
        """The callback: exchange ``code`` if ``state`` is the one this OA is waiting for."""
        async with self._database.transaction() as session:
            row = await session.get(ZaloToken, self._oa_id)
            if row is None or not row.pending_state or row.pending_state != state_hash(state):
                return False
            secret = self._app_secret or (self._box.open(row.app_secret) if row.app_secret else "")
        try:
            pair = await self._oauth.exchange_code(code=code, verifier=verifier, app_secret=secret)
        except _RefreshRefusedError as exc:  # expired, used, or another app's code
            log.warning("zalo refused the authorisation code: %s", exc)
            return False
        await self.save_grant(pair)
        return True
