"""An aiohttp transport for python-telegram-bot, replacing its default httpx one.

Profiling showed httpx, httpcore and anyio taking about a quarter of the server's CPU per
update: httpcore scans every pooled connection on each request, and form bodies are
url-encoded. PTB documents subclassing :class:`telegram.request.BaseRequest` for other HTTP
libraries; this one sends plain calls as a JSON body (nested keyboards stay JSON, no form
encoding) and only uploads as multipart, over one keep-alive aiohttp session.

:meth:`AiohttpRequest.post_json` and :func:`api_error` serve callers that post prepared JSON
themselves (the broadcast transport, a thousand sends a second): PTB's own path turns every
parameter into a ``RequestParameter`` object first, a third of the CPU of such a send.

Timeouts keep HTTPXRequest's meaning where aiohttp has a counterpart: ``read_timeout`` bounds
each wait for response data, ``connect_timeout`` the TCP connect. aiohttp cannot time the pool
wait alone nor the upload phase, so waiting for a connection is bounded by pool plus connect
timeout, and the whole request by the sum of all four. Environment proxies are not used.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest", "api_error", "api_result"]

DEFAULT_CONNECTION_POOL_SIZE: Final = 256
DEFAULT_READ_TIMEOUT: Final = 5.0
DEFAULT_WRITE_TIMEOUT: Final = 5.0
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_POOL_TIMEOUT: Final = 1.0
#: Uploads get longer, as in HTTPXRequest.
DEFAULT_MEDIA_WRITE_TIMEOUT: Final = 20.0
#: api.telegram.org is resolved once per this many seconds rather than on every new connection.
DNS_CACHE_SECONDS: Final = 300
#: The last HTTP status PTB counts as success (200-299).
MAX_SUCCESS_STATUS: Final = 299

#: Compact UTF-8 JSON: Vietnamese text stays 2-3 bytes a character instead of ``\\uXXXX``.
_dumps: Final = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def _sum_or_none(*parts: float | None) -> float | None:
    """The sum of ``parts``, or no limit when any of them is unlimited."""
    total = 0.0
    for part in parts:
        if part is None:
            return None
        total += part
    return total


def _client_timeout(
    *, read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's four (see the module docstring for the mapping)."""
    return aiohttp.ClientTimeout(
        total=_sum_or_none(read, write, connect, pool),
        connect=_sum_or_none(connect, pool),
        sock_connect=connect,
        sock_read=read,
    )


class AiohttpRequest(BaseRequest):
    """:class:`~telegram.request.BaseRequest` over one :class:`aiohttp.ClientSession`.

    The session is created in :meth:`initialize` (it needs the running event loop) and closed
    in :meth:`shutdown`; both may be called repeatedly, and a shut-down instance can be
    initialized again, as PTB does when an application restarts.
    """

    __slots__ = (
        "_connect_timeout",
        "_default_timeout",
        "_media_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = DEFAULT_CONNECTION_POOL_SIZE,
        read_timeout: float | None = DEFAULT_READ_TIMEOUT,
        write_timeout: float | None = DEFAULT_WRITE_TIMEOUT,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        pool_timeout: float | None = DEFAULT_POOL_TIMEOUT,
        media_write_timeout: float | None = DEFAULT_MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # Built once: most calls pass no timeouts and reuse these.
        self._default_timeout = _client_timeout(
            read=read_timeout, write=write_timeout, connect=connect_timeout, pool=pool_timeout
        )
        self._media_timeout = _client_timeout(
            read=read_timeout,
            write=media_write_timeout,
            connect=connect_timeout,
            pool=pool_timeout,
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; PTB adds the long-poll time to it for ``getUpdates``."""
        return self._read_timeout

    @property
    def closed(self) -> bool:
        """Whether there is no open session (before :meth:`initialize`, after shutdown)."""
        return self._session is None or self._session.closed

    async def initialize(self) -> None:
        """Open the session and its connection pool, unless already open."""
        if not self.closed:
            return
        connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=DNS_CACHE_SECONDS)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            timeout=self._default_timeout,
        )

    async def shutdown(self) -> None:
        """Close the session and its pooled connections; a no-op when already closed."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(  # noqa: PLR0917 - BaseRequest fixes this signature
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one Bot API call; return the HTTP status and the raw body for BaseRequest."""
        session = self._session
        if session is None or session.closed:
            msg = "This AiohttpRequest is not initialized!"
            raise RuntimeError(msg)

        uploads = request_data is not None and request_data.contains_files
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, uploads=uploads
        )
        body: aiohttp.FormData | aiohttp.JsonPayload | None = None
        if request_data is not None:
            body = (
                _multipart(request_data)
                if uploads
                else aiohttp.JsonPayload(request_data.parameters, dumps=_dumps)
            )
        return await _exchange(session, method, url, body, timeout)

    async def post_json(self, url: str, payload: Mapping[str, Any]) -> tuple[int, bytes]:
        """POST ``payload`` as compact JSON with the default timeouts; the HTTP status and the
        raw body. Network failures raise as in :meth:`do_request`; the answer is the caller's
        to read (:func:`api_result`)."""
        session = self._session
        if session is None or session.closed:
            msg = "This AiohttpRequest is not initialized!"
            raise RuntimeError(msg)
        body = aiohttp.JsonPayload(payload, dumps=_dumps)
        return await _exchange(session, "POST", url, body, self._default_timeout)

    def _timeout(
        self,
        read: ODVInput[float],
        write: ODVInput[float],
        connect: ODVInput[float],
        pool: ODVInput[float],
        *,
        uploads: bool,
    ) -> aiohttp.ClientTimeout:
        """Per-call timeouts: ``DEFAULT_NONE`` takes ours, an explicit ``None`` means none."""
        if (
            isinstance(read, DefaultValue)
            and isinstance(write, DefaultValue)
            and isinstance(connect, DefaultValue)
            and isinstance(pool, DefaultValue)
        ):
            return self._media_timeout if uploads else self._default_timeout
        if isinstance(write, DefaultValue):
            write = self._media_write_timeout if uploads else self._write_timeout
        return _client_timeout(
            read=self._read_timeout if isinstance(read, DefaultValue) else read,
            write=write,
            connect=self._connect_timeout if isinstance(connect, DefaultValue) else connect,
            pool=self._pool_timeout if isinstance(pool, DefaultValue) else pool,
        )


async def _exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: aiohttp.FormData | aiohttp.Payload | None,
    client_timeout: aiohttp.ClientTimeout,
) -> tuple[int, bytes]:
    """One request: the status and body, aiohttp's failures as PTB's ``TimedOut`` and
    ``NetworkError``."""
    try:
        async with session.request(method, url, data=body, timeout=client_timeout) as response:
            return response.status, await response.read()
    except TimeoutError as exc:
        # aiohttp's timeout errors are all TimeoutError (and OSError), so this comes first.
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            msg = (
                "Timed out waiting for a connection: the pool is full or the server did not "
                "accept one. Consider a larger connection pool or longer timeouts."
            )
            raise TimedOut(msg) from exc
        raise TimedOut from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise NetworkError(_network_failure(exc)) from exc


def api_result(status: int, body: bytes) -> Any:
    """The ``result`` of a Bot API answer, or the :class:`TelegramError` PTB would raise for it
    (:func:`api_error`)."""
    if HTTPStatus.OK <= status <= MAX_SUCCESS_STATUS:
        try:
            return json.loads(body)["result"]
        except (ValueError, KeyError, TypeError) as exc:
            msg = "Invalid server response"
            raise TelegramError(msg) from exc
    raise api_error(status, body)


def api_error(status: int, body: bytes) -> TelegramError:
    """The exception PTB's ``BaseRequest`` raises for an unsuccessful answer, built the same
    way (``tests/channels/test_telegram_http.py`` holds the two side by side): flood control
    and chat migration from the response parameters, then by HTTP status."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = data.get("description") or message
        parameters = data.get("parameters")
        if parameters:
            migrate_to_chat_id = parameters.get("migrate_to_chat_id")
            if migrate_to_chat_id:
                return ChatMigrated(migrate_to_chat_id)
            retry_after = parameters.get("retry_after")
            if retry_after:
                return RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"
    else:
        message += f". Parsing the server response {body!r} failed"
    if status == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if status in {HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED}:
        return InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    return NetworkError(message)


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """A multipart body: the JSON-encoded parameters as fields, then the files.

    ``quote_fields=False`` keeps file names as typed (UTF-8, spaces included); aiohttp
    would otherwise percent-encode them and Telegram would show ``%20`` in the name.
    """
    form = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (file_name, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=file_name, content_type=mime_type)
    return form


def _network_failure(exc: BaseException) -> str:
    """What went wrong, without aiohttp's own text: that often quotes the request URL, and
    a Bot API URL carries the bot's token (it would end up in logs and the outbox)."""
    reason = getattr(exc, "strerror", None)
    detail = f": {reason}" if isinstance(reason, str) and reason else ""
    return f"Could not connect to the Bot API (aiohttp.{exc.__class__.__name__}){detail}"
