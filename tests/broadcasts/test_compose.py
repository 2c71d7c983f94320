"""The composer: each recipient's text filled in, the parts a broadcast shares made once."""

from __future__ import annotations

from typing import Any

from bot.broadcasts.compose import KEPT_BROADCASTS, Button, Composer
from bot.core.texts import Texts
from tests.broadcasts.kit import texts

BODY = "Kính gửi {{ name }} ở {{ ward }}."


class CountingTexts(Texts):
    """The real content, counting template renders."""

    def __init__(self) -> None:
        real = texts()
        super().__init__(real.root)
        self.renders = 0

    def render(self, name: str, **context: Any) -> str:
        self.renders += 1
        return super().render(name, **context)


def test_each_recipient_gets_their_name_and_the_broadcasts_own_buttons() -> None:
    composer = Composer(texts())

    first = composer.message(7, BODY, [Button("eligibility")], name="Lan", ward="Phú Tâm")
    second = composer.message(7, BODY, [Button("eligibility")], name="Hùng", ward="Mỹ Tú")
    other = composer.message(8, BODY, [Button("register")], name="Lan", ward="Phú Tâm")

    assert first.text.startswith("Kính gửi Lan ở Phú Tâm.\n\n")
    assert second.text.startswith("Kính gửi Hùng ở Mỹ Tú.\n\n")
    assert "/huy" in first.text
    assert first.text.removeprefix("Kính gửi Lan ở Phú Tâm.") == second.text.removeprefix(
        "Kính gửi Hùng ở Mỹ Tú."
    )
    assert [c.id for c in first.choices] == ["bc:7:eligibility:start", "bc:7:subscribe:stop"]
    assert [c.id for c in other.choices] == ["bc:8:register:start", "bc:8:subscribe:stop"]


def test_the_footer_is_rendered_once_per_broadcast_not_per_message() -> None:
    content = CountingTexts()
    composer = Composer(content)

    for _ in range(50):
        composer.message(1, BODY, [], name="Lan", ward="Phú Tâm")
    composer.message(2, BODY, [], name="Lan", ward="Phú Tâm")
    composer.message(1, BODY, [Button("eligibility")])  # other buttons: made again

    assert content.renders == 3


def test_the_shared_parts_kept_are_bounded() -> None:
    composer = Composer(texts())

    for broadcast_id in range(KEPT_BROADCASTS * 3):
        message = composer.message(broadcast_id, BODY, [])
        assert message.choices[-1].id == f"bc:{broadcast_id}:subscribe:stop"

    assert len(composer._shared) <= KEPT_BROADCASTS
