"""A broadcast as each recipient sees it: the staff's text filled in, buttons, the way out.

The text is a Jinja2 template written by staff, so it runs in Jinja's sandbox with two
values, ``name`` and ``ward``. Every message ends with how to stop (``/huy`` and a button),
and every button carries the broadcast's id (``bc:<id>:<choice>``) so its presses are
counted before the choice goes to its flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from bot.core.messages import Choice, OutboundMessage
from bot.core.texts import Texts

CLICK_PREFIX: Final = "bc"
#: The body leaves room for the stop line within one Telegram message (4,096 characters).
MAX_BODY_LENGTH: Final = 3500
#: With a photo or PDF the text is its caption (1,024 characters on Telegram).
MAX_CAPTION_BODY_LENGTH: Final = 800
STOP_CHOICE: Final = "subscribe:stop"
#: Button actions staff may add, and the choice each one opens.
BUTTON_CHOICES: Final[Mapping[str, str]] = {
    "programme": "policies:prog:{value}",
    "eligibility": "eligibility:start",
    "register": "register:start",
}
#: Broadcasts whose footer and buttons a composer keeps (a sender sends one or two at once).
KEPT_BROADCASTS: Final = 64


class BroadcastTemplateError(ValueError):
    """The staff's text is not a valid template (shown to them, never to owners)."""


def click_id(broadcast_id: int, choice: str) -> str:
    return f"{CLICK_PREFIX}:{broadcast_id}:{choice}"


def parse_click(choice_id: str) -> tuple[int, str] | None:
    """(broadcast id, the choice underneath) for a broadcast button, else None."""
    prefix, _, rest = choice_id.partition(":")
    number, _, inner = rest.partition(":")
    if prefix != CLICK_PREFIX or not number.isdigit() or not inner:
        return None
    return int(number), inner


@dataclass(frozen=True, slots=True)
class Button:
    action: str
    value: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Button:
        return cls(str(data.get("action", "")), str(data.get("value", "")))

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "value": self.value}


class Composer:
    """Fills broadcast templates; compiled templates are kept per distinct text, and the parts
    every recipient of a broadcast shares (the footer, the buttons) per broadcast."""

    def __init__(self, texts: Texts) -> None:
        self._texts = texts
        self._env = SandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)
        self._compiled: dict[str, jinja2.Template] = {}
        self._shared: dict[tuple[int, tuple[Button, ...]], tuple[str, tuple[Choice, ...]]] = {}

    def _template(self, body: str) -> jinja2.Template:
        template = self._compiled.get(body)
        if template is None:
            try:
                template = self._env.from_string(body)
            except jinja2.TemplateError as exc:
                raise BroadcastTemplateError(str(exc)) from exc
            self._compiled[body] = template
        return template

    def check(self, body: str, *, with_attachment: bool = False) -> None:
        """Raise :class:`BroadcastTemplateError` unless ``body`` renders for anyone."""
        if not body.strip():
            raise BroadcastTemplateError("empty")
        self.fill(body, name="Nguyễn Văn A", ward="Xã Phú Tâm")
        limit = MAX_CAPTION_BODY_LENGTH if with_attachment else MAX_BODY_LENGTH
        if len(body) > limit:
            msg = f"{len(body)} > {limit}"
            raise BroadcastTemplateError(msg)

    def fill(self, body: str, *, name: str, ward: str) -> str:
        try:
            return self._template(body).render(
                name=name or self._texts.label("broadcasts.default_name"),
                ward=ward or self._texts.label("broadcasts.default_ward"),
            )
        except jinja2.TemplateError as exc:
            raise BroadcastTemplateError(str(exc)) from exc

    def message(
        self,
        broadcast_id: int,
        body: str,
        buttons: Sequence[Button],
        *,
        name: str = "",
        ward: str = "",
    ) -> OutboundMessage:
        text = self.fill(body, name=name, ward=ward).strip()
        footer, choices = self._shared_parts(broadcast_id, tuple(buttons))
        return OutboundMessage(text=f"{text}\n\n{footer}", choices=choices)

    def _shared_parts(
        self, broadcast_id: int, buttons: tuple[Button, ...]
    ) -> tuple[str, tuple[Choice, ...]]:
        """The footer and the buttons of a broadcast: the same for each of its recipients,
        so made once (not once a message: at 1,000 a second that was a tenth of the CPU)."""
        key = (broadcast_id, buttons)
        shared = self._shared.get(key)
        if shared is not None:
            return shared
        footer = self._texts.render(
            "broadcasts/footer", owner=self._texts.label("broadcasts.default_name")
        )
        choices = [
            Choice(
                click_id(broadcast_id, BUTTON_CHOICES[button.action].format(value=button.value)),
                self._texts.label(f"broadcasts.button.{button.action}"),
            )
            for button in buttons
            if button.action in BUTTON_CHOICES
        ]
        choices.append(
            Choice(click_id(broadcast_id, STOP_CHOICE), self._texts.label("broadcasts.stop"))
        )
        if len(self._shared) >= KEPT_BROADCASTS:
            self._shared.clear()
        shared = self._shared[key] = (footer, tuple(choices))
        return shared
