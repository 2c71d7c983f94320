"""A half-configured Zalo channel stops start-up with one line naming the variable."""

from __future__ import annotations

import pytest

from bot.channels.zalo_bot import ZaloBotSettings
from bot.channels.zalo_oa import ZaloOASettings
from bot.core.config import ConfigError, load_settings
from tests.harness import TEST_TOKEN_KEY

OA = {"zalo_app_id": "1", "zalo_oa_id": "2"}


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        (OA, "ZALO_OA_SECRET_KEY"),
        ({**OA, "zalo_oa_secret_key": "k"}, "ZALO_TOKEN_KEY"),
        ({**OA, "zalo_oa_secret_key": "k", "zalo_token_key": "not-a-key"}, "ZALO_TOKEN_KEY"),
    ],
)
def test_the_oa_needs_its_keys(values: dict[str, str], variable: str) -> None:
    settings = load_settings(_env_file=None, **values)
    with pytest.raises(ConfigError, match=f"^Invalid setting {variable}:"):
        settings.section(ZaloOASettings)


def test_a_complete_oa_and_an_absent_one() -> None:
    full = {**OA, "zalo_oa_secret_key": "k", "zalo_token_key": TEST_TOKEN_KEY}
    assert load_settings(_env_file=None, **full).section(ZaloOASettings).enabled
    assert not load_settings(_env_file=None).section(ZaloOASettings).enabled


def test_the_bot_webhook_secret_is_8_to_256_characters() -> None:
    settings = load_settings(_env_file=None, zalo_bot_token="t", zalo_bot_webhook_secret="short")
    with pytest.raises(ConfigError, match=r"^Invalid setting ZALO_BOT_WEBHOOK_SECRET:"):
        settings.section(ZaloBotSettings)
