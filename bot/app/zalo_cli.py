"""``khuyencong zalo``: the OA admin's tools (a sealing key, the OAuth grant).

``authorize`` prints Zalo's permission link for the OA admin to open and accept ("Cho
phép"); Zalo then sends the browser to the web app's callback route, which exchanges the
code and stores the sealed tokens, while this command waits to report it. ``--code``
exchanges a code copied from the callback address by hand (the web app not reachable yet);
``--access-token`` and ``--refresh-token`` store a pair from Zalo's API Explorer.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.core.config import ConfigError

if TYPE_CHECKING:  # the channel, aiohttp and cryptography load only when the command runs
    from bot.channels.zalo.tokens import TokenStore
    from bot.channels.zalo_oa import ZaloOASettings
    from bot.core.clock import Clock
    from bot.core.config import Settings
    from storage import Database

EXIT_OK = 0
EXIT_FAILED = 1
DEFAULT_WAIT_SECONDS = 600
POLL_SECONDS = 2.0
#: API Explorer hands out tokens without their lifetime; Zalo's access tokens live 25 h.
EXPLORER_LIFETIME_SECONDS = 90_000


def add_parser(commands: Any) -> None:
    zalo = commands.add_parser(
        "zalo", help="Zalo OA tools", description="Tools for the Center's Zalo Official Account."
    )
    zalo_commands = zalo.add_subparsers(dest="zalo_command", required=True, metavar="ACTION")
    zalo_commands.add_parser(
        "key",
        help="print a new ZALO_TOKEN_KEY",
        description="Print a new key for sealing the OA's tokens at rest (ZALO_TOKEN_KEY).",
    )
    authorize = zalo_commands.add_parser(
        "authorize",
        help="grant the bot access to the OA (OAuth v4)",
        description="Print the permission link for the OA admin and wait until the web app's "
        "callback (/zalo/oa/callback) has stored the tokens; or exchange --code directly, or "
        "store a token pair from API Explorer.",
    )
    authorize.add_argument("--code", help="the code= value of the callback address")
    authorize.add_argument("--state", help="the state= value of the callback address")
    authorize.add_argument("--access-token", help="an access token from API Explorer")
    authorize.add_argument("--refresh-token", help="its refresh token")
    authorize.add_argument(
        "--wait", type=int, default=DEFAULT_WAIT_SECONDS, help="seconds to wait for the callback"
    )


def run(args: argparse.Namespace, settings: Settings, *, clock: Clock) -> int:
    if args.zalo_command == "key":
        from bot.channels.zalo.crypto import SecretBox

        print(SecretBox.new_key())
        return EXIT_OK
    return asyncio.run(_authorize(args, settings, clock=clock))


async def _authorize(args: argparse.Namespace, settings: Settings, *, clock: Clock) -> int:
    import aiohttp

    from bot.channels.zalo.crypto import SecretBox
    from bot.channels.zalo.tokens import OAuthClient, TokenStore
    from bot.channels.zalo_oa import ZaloOASettings
    from storage import Database, upgrade

    oa = settings.section(ZaloOASettings)
    if not oa.enabled:
        raise ConfigError("Invalid setting ZALO_APP_ID: set ZALO_APP_ID and ZALO_OA_ID first")
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        async with aiohttp.ClientSession() as http:
            store = TokenStore(
                database=database,
                box=SecretBox(oa.token_key),
                oauth=OAuthClient(base_url=oa.oauth_base_url, app_id=oa.app_id, session=http),
                oa_id=oa.oa_id,
                clock=clock,
                app_secret=oa.app_secret or None,
            )
            return await _grant(args, settings, oa, store, database)
    finally:
        await database.dispose()


async def _grant(
    args: argparse.Namespace,
    settings: Settings,
    oa: ZaloOASettings,
    store: TokenStore,
    database: Database,
) -> int:
    from bot.channels.zalo.tokens import TokenPair
    from bot.channels.zalo_oa import CALLBACK_PATH, new_state, permission_link

    if args.access_token or args.refresh_token:
        if not (args.access_token and args.refresh_token):
            raise ConfigError("Invalid arguments: give both --access-token and --refresh-token")
        pair = TokenPair(args.access_token, args.refresh_token, EXPLORER_LIFETIME_SECONDS)
        await store.save_grant(pair, app_secret=oa.app_secret or None)
        print("khuyencong: the OA's tokens are stored (sealed)")
        return EXIT_OK
    if args.code:
        state = args.state or new_state()
        await store.begin_grant(state=state, app_secret=oa.app_secret or None)
        if not await store.complete_grant(
            state=state, code=args.code, verifier=oa.oa_code_verifier
        ):
            print("khuyencong: Zalo refused the code (expired or already used)")
            return EXIT_FAILED
        print("khuyencong: the OA is authorised; tokens stored (sealed)")
        return EXIT_OK
    if not settings.public_url:
        raise ConfigError("Invalid setting PUBLIC_URL: the callback needs the bot's https address")
    state = new_state()
    await store.begin_grant(state=state, app_secret=oa.app_secret or None)
    redirect = settings.public_url + CALLBACK_PATH
    print("1. In developers.zalo.me, the Official Account callback URL must be:")
    print(f"   {redirect}")
    print("2. An admin of the OA opens this link and presses 'Cho phép':")
    print(f"   {permission_link(oa, redirect_uri=redirect, state=state)}")
    print("3. Keep `khuyencong serve` running: its callback stores the tokens.")
    if await _wait_for_grant(database, oa.oa_id, state, seconds=args.wait):
        print("khuyencong: the OA is authorised; tokens stored (sealed)")
        return EXIT_OK
    print("khuyencong: no callback yet; run this again, or pass --code from the callback address")
    return EXIT_FAILED


async def _wait_for_grant(database: Database, oa_id: str, state: str, *, seconds: int) -> bool:
    """True once the callback consumed this link's state (a new grant is stored)."""
    from bot.channels.zalo.tokens import state_hash
    from storage.models.channels import ZaloToken

    rounds = max(0, int(seconds / POLL_SECONDS))
    for _ in range(rounds + 1):
        async with database.transaction() as session:
            row = await session.get(ZaloToken, oa_id)
        if row is not None and row.pending_state != state_hash(state) and row.access_token:
            return True
        if rounds:
            await asyncio.sleep(POLL_SECONDS)
    return False
