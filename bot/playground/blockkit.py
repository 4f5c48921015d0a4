"""Block Kit and Slack mrkdwn to HTML, for the playground page.

Everything that comes from the bot (and, through it, from people's answers) is
HTML-escaped here; the only markup in the output is what this module writes.
Interactive elements carry their Block Kit description as JSON in a data
attribute, and the page's script sends it back as the `block_actions` action.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

EMOJI = {
    "large_green_circle": "🟢",
    "large_blue_circle": "🔵",
    "large_yellow_circle": "🟡",
    "red_circle": "🔴",
    "white_circle": "⚪",
    "speech_balloon": "💬",
    "bulb": "💡",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "warning": "⚠️",
    "star": "⭐",
    "star2": "🌟",
    "microphone": "🎤",
    "clipboard": "📋",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "trophy": "🏆",
    "medal": "🏅",
    "first_place_medal": "🥇",
    "second_place_medal": "🥈",
    "third_place_medal": "🥉",
    "tada": "🎉",
    "rocket": "🚀",
    "fire": "🔥",
    "sparkles": "✨",
    "muscle": "💪",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "wave": "👋",
    "eyes": "👀",
    "brain": "🧠",
    "books": "📚",
    "memo": "📝",
    "calendar": "📆",
    "date": "📅",
    "alarm_clock": "⏰",
    "hourglass_flowing_sand": "⏳",
    "stopwatch": "⏱️",
    "dart": "🎯",
    "mag": "🔍",
    "point_right": "👉",
    "arrow_right": "➡️",
    "arrow_up": "⬆️",
    "arrow_down": "⬇️",
    "information_source": "ℹ️",
    "question": "❓",
    "lock": "🔒",
    "robot_face": "🤖",
    "thinking_face": "🤔",
    "zap": "⚡",
    "package": "📦",
    "gear": "⚙️",
    "wastebasket": "🗑️",
    "pencil2": "✏️",
    "ok_hand": "👌",
    "clap": "👏",
    "raised_hands": "🙌",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
}

_SLOT = "\ue000{}\ue001"
_SLOT_RE = re.compile("\ue000(\\d+)\ue001")
_CODE_BLOCK = re.compile(r"```(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_SPECIAL = re.compile(r"<([^<>\n]+)>")
_QUOTE = re.compile(r"^(?:>|&gt;)\s?(.*)$")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.I)


def unescape(text: str) -> str:
    """Slack's three entities back to characters (what a person typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _attr_json(value: object) -> str:
    return _esc(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def emoji(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


class BlockKitHtml:
    """Renders mrkdwn, Block Kit blocks, modal inputs and shared files as safe HTML."""

    def __init__(
        self,
        names: Mapping[str, str] | None = None,
        *,
        file_url: Callable[[str], str] = lambda file_id: f"/playground/files/{file_id}",
    ) -> None:
        self.names = names or {}
        self.file_url = file_url

    # --- text ------------------------------------------------------------------

    def plain(self, text: str) -> str:
        """Slack-escaped text as literal HTML text (no formatting)."""
        return _esc(unescape(text))

    def mrkdwn(self, text: str) -> str:
        text = str(text).replace("\ue000", "").replace("\ue001", "")
        slots: list[str] = []

        def keep(fragment: str) -> str:
            slots.append(fragment)
            return _SLOT.format(len(slots) - 1)

        text = _CODE_BLOCK.sub(
            lambda m: keep(f"<pre>{self.plain(m.group(1).strip(chr(10)))}</pre>"), text
        )
        text = _CODE.sub(lambda m: keep(f"<code>{self.plain(m.group(1))}</code>"), text)
        text = _SPECIAL.sub(lambda m: keep(self._special(m.group(1))), text)

        parts: list[str] = []
        lines: list[str] = []
        quoted: list[str] = []
        for line in text.split("\n"):
            match = _QUOTE.match(line)
            if match:
                if lines:
                    parts.append("<br>".join(lines))
                    lines = []
                quoted.append(self._inline(match.group(1)))
                continue
            if quoted:
                parts.append(f"<blockquote>{'<br>'.join(quoted)}</blockquote>")
                quoted = []
            lines.append(self._inline(line))
        if lines:
            parts.append("<br>".join(lines))
        if quoted:
            parts.append(f"<blockquote>{'<br>'.join(quoted)}</blockquote>")
        return _SLOT_RE.sub(lambda m: slots[int(m.group(1))], "".join(parts))

    def _inline(self, text: str) -> str:
        out = _esc(unescape(text))
        out = _BOLD.sub(r"<b>\1</b>", out)
        out = _ITALIC.sub(r"<i>\1</i>", out)
        out = _STRIKE.sub(r"<s>\1</s>", out)
        return emoji(out)

    def _special(self, inner: str) -> str:
        """<@U…>, <#C…|name>, <!here>, <url|label> - anything else is shown literally."""
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            name = self.names.get(target[1:]) or unescape(label) or target[1:]
            return f'<span class="mention">@{_esc(name)}</span>'
        if target.startswith("#"):
            name = unescape(label) or self.names.get(target[1:]) or target[1:]
            return f'<span class="mention">#{_esc(name)}</span>'
        if target.startswith("!"):
            word = target[1:]
            if word in ("here", "channel", "everyone"):
                return f'<span class="mention">@{word}</span>'
            if word.startswith("subteam^"):
                return f'<span class="mention">{_esc(unescape(label) or "@group")}</span>'
            return _esc(unescape(label or word))
        url = unescape(target)
        if _SAFE_URL.match(url):
            return (
                f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">'
                f"{self.plain(label or target)}</a>"
            )
        return _esc("<" + unescape(inner) + ">")

    def text(self, obj: Any) -> str:
        """A text object (mrkdwn or plain_text), or a bare string as plain text."""
        if isinstance(obj, dict):
            value = str(obj.get("text", ""))
            if obj.get("type") == "mrkdwn":
                return self.mrkdwn(value)
            out = _esc(value).replace("\n", "<br>")
            return emoji(out) if obj.get("emoji", True) else out
        if obj is None:
            return ""
        return _esc(obj)

    # --- messages ----------------------------------------------------------------

    def message(self, text: str, blocks: list[Any], files: list[dict[str, Any]]) -> str:
        """What a message shows: its blocks (or its text when it has none), then its files."""
        body = self.blocks(blocks) if blocks else f'<div class="bk-text">{self.mrkdwn(text)}</div>'
        return body + "".join(self.file(f) for f in files)

    def file(self, info: dict[str, Any]) -> str:
        url = _esc(self.file_url(str(info.get("id", ""))))
        title = _esc(info.get("title") or info.get("name") or "file")
        if str(info.get("mimetype", "")).startswith("image/"):
            alt = _esc(info.get("alt_txt") or info.get("title") or "")
            return (
                f'<figure class="bk-file"><img src="{url}" alt="{alt}" loading="lazy">'
                f"<figcaption>{title}</figcaption></figure>"
            )
        return f'<div class="bk-file"><a href="{url}" download>📎 {title}</a></div>'

    # --- blocks ----------------------------------------------------------------------

    def blocks(self, blocks: list[Any]) -> str:
        return "".join(
            self.block(b, index) for index, b in enumerate(blocks) if isinstance(b, dict)
        )

    def block(self, block: dict[str, Any], index: int = 0) -> str:
        kind = str(block.get("type", ""))
        block_id = str(block.get("block_id") or f"blk{index}")
        attrs = f'class="bk-{_esc(kind)}" data-block-id="{_esc(block_id)}"'
        if kind == "header":
            return f"<div {attrs}>{self.text(block.get('text'))}</div>"
        if kind == "section":
            inner = ""
            if block.get("text"):
                inner += f'<div class="bk-text">{self.text(block["text"])}</div>'
            if block.get("fields"):
                inner += (
                    '<div class="bk-fields">'
                    + "".join(f"<div>{self.text(f)}</div>" for f in block["fields"])
                    + "</div>"
                )
            accessory = block.get("accessory")
            side = (
                f'<div class="bk-accessory">{self.element(accessory, block_id)}</div>'
                if isinstance(accessory, dict)
                else ""
            )
            return f'<div {attrs}><div class="bk-main">{inner}</div>{side}</div>'
        if kind == "context":
            items = []
            for element in block.get("elements") or []:
                if isinstance(element, dict) and element.get("type") == "image":
                    items.append(self._image_tag(element, css="bk-context-image"))
                else:
                    items.append(f"<span>{self.text(element)}</span>")
            return f"<div {attrs}>{''.join(items)}</div>"
        if kind == "divider":
            return f"<hr {attrs}>"
        if kind == "actions":
            elements = "".join(
                self.element(e, block_id)
                for e in block.get("elements") or []
                if isinstance(e, dict)
            )
            return f"<div {attrs}>{elements}</div>"
        if kind == "context_actions":  # feedback buttons (and icon buttons), small, under a message
            elements = "".join(
                self.element(e, block_id)
                for e in block.get("elements") or []
                if isinstance(e, dict)
            )
            return f"<div {attrs}>{elements}</div>"
        if kind == "image":
            title = block.get("title")
            caption = f"<figcaption>{self.text(title)}</figcaption>" if title else ""
            return f"<figure {attrs}>{self._image_tag(block)}{caption}</figure>"
        if kind == "input":
            return self.input_block(block, block_id)
        if kind == "rich_text":
            return f"<div {attrs}>{self.mrkdwn(_rich_text(block))}</div>"
        return f'<div class="bk-unknown">[{_esc(kind or "unknown")} block]</div>'

    def _image_tag(self, obj: dict[str, Any], css: str = "bk-img") -> str:
        alt = _esc(obj.get("alt_text", ""))
        url = str(obj.get("image_url") or "")
        slack_file = obj.get("slack_file")
        if isinstance(slack_file, dict) and slack_file.get("id"):
            url = self.file_url(str(slack_file["id"]))
        elif isinstance(slack_file, dict) and slack_file.get("url"):
            url = str(slack_file["url"])
        if not (url.startswith("/playground/files/") or _SAFE_URL.match(url)):
            return f'<span class="bk-missing-image">[image: {alt}]</span>'
        return f'<img class="{css}" src="{_esc(url)}" alt="{alt}" loading="lazy">'

    def element(self, element: dict[str, Any], block_id: str) -> str:
        """An interactive element outside an input block (actions, section accessory)."""
        kind = element.get("type")
        action = {
            "type": kind,
            "action_id": element.get("action_id", ""),
            "block_id": block_id,
        }
        if kind == "button":
            action["text"] = element.get("text") or {"type": "plain_text", "text": ""}
            if "value" in element:
                action["value"] = element["value"]
            style = element.get("style")
            css = f"bk-button bk-{style}" if style in ("primary", "danger") else "bk-button"
            confirm = element.get("confirm")
            confirm_attr = f' data-confirm="{_attr_json(confirm)}"' if confirm else ""
            url = element.get("url")
            url_attr = f' data-url="{_esc(url)}"' if url and _SAFE_URL.match(str(url)) else ""
            return (
                f'<button type="button" class="{css}" data-action="{_attr_json(action)}"'
                f"{confirm_attr}{url_attr}>{self.text(element.get('text'))}</button>"
            )
        if kind in ("static_select", "overflow"):
            placeholder = element.get("placeholder") or {"type": "plain_text", "text": "Choose…"}
            options = "".join(
                f'<option value="{_esc(o.get("value", ""))}">{self.text(o.get("text"))}</option>'
                for o in _options(element)
            )
            label = self.text(placeholder) if kind == "static_select" else "⋯"
            return (
                f'<select class="bk-select" data-action="{_attr_json(action)}">'
                f'<option value="">{label}</option>{options}</select>'
            )
        if kind == "feedback_buttons":
            return "".join(
                self._feedback_button(element, side, action)
                for side in ("positive_button", "negative_button")
            )
        if kind == "icon_button":
            action["value"] = element.get("value", "")
            action["text"] = element.get("text") or {"type": "plain_text", "text": ""}
            return (
                f'<button type="button" class="bk-button bk-icon" data-action="{_attr_json(action)}">'
                f"{self.text(element.get('text'))}</button>"
            )
        if kind == "image":
            return self._image_tag(element, css="bk-accessory-image")
        return f'<span class="bk-unknown">[{_esc(kind)}]</span>'

    def _feedback_button(self, element: dict[str, Any], side: str, action: dict[str, Any]) -> str:
        """One thumb of a feedback buttons element: its click carries that thumb's value."""
        button = element.get(side) if isinstance(element.get(side), dict) else {}
        assert isinstance(button, dict)
        text = button.get("text") or {
            "type": "plain_text",
            "text": "👍" if "positive" in side else "👎",
        }
        clicked = {**action, "value": button.get("value", ""), "text": text}
        label = button.get("accessibility_label")
        aria = f' aria-label="{_esc(label)}" title="{_esc(label)}"' if label else ""
        return (
            f'<button type="button" class="bk-button bk-feedback" '
            f'data-action="{_attr_json(clicked)}"{aria}>{self.text(text)}</button>'
        )

    def input_block(self, block: dict[str, Any], block_id: str) -> str:
        """An input block of a modal: label, the element, hint, and a place for an error."""
        element = block.get("element") if isinstance(block.get("element"), dict) else {}
        assert isinstance(element, dict)
        kind = str(element.get("type", ""))
        meta = {"type": kind, "action_id": element.get("action_id", ""), "block_id": block_id}
        data = f'data-input="{_attr_json(meta)}"'
        placeholder = _esc(_plain_of(element.get("placeholder")))
        if kind == "plain_text_input" and element.get("multiline"):
            control = (
                f'<textarea {data} rows="4" placeholder="{placeholder}">'
                f"{_esc(element.get('initial_value', ''))}</textarea>"
            )
        elif kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
            html_type = {"email_text_input": "email", "url_text_input": "url"}.get(kind, "text")
            control = (
                f'<input type="{html_type}" {data} placeholder="{placeholder}" '
                f'value="{_esc(element.get("initial_value", ""))}">'
            )
        elif kind == "static_select":
            initial = (element.get("initial_option") or {}).get("value")
            options = "".join(
                f'<option value="{_esc(o.get("value", ""))}"'
                f"{' selected' if o.get('value') == initial else ''}>"
                f"{self.text(o.get('text'))}</option>"
                for o in _options(element)
            )
            control = (
                f'<select {data}><option value="">{placeholder or "Choose…"}</option>'
                f"{options}</select>"
            )
        elif kind in ("radio_buttons", "checkboxes"):
            html_type = "radio" if kind == "radio_buttons" else "checkbox"
            initial = {
                o.get("value")
                for o in [element.get("initial_option"), *(element.get("initial_options") or [])]
                if isinstance(o, dict)
            }
            choices = "".join(
                f'<label class="bk-choice"><input type="{html_type}" name="{_esc(block_id)}" '
                f'value="{_esc(o.get("value", ""))}"{" checked" if o.get("value") in initial else ""}>'
                f"<span>{self.text(o.get('text'))}</span></label>"
                for o in _options(element)
            )
            control = f'<div class="bk-choices" {data}>{choices}</div>'
        else:
            control = f'<span class="bk-unknown">[{_esc(kind)} input]</span>'
        optional = ' <span class="bk-optional">(optional)</span>' if block.get("optional") else ""
        hint = block.get("hint")
        hint_html = f'<div class="bk-hint">{self.text(hint)}</div>' if hint else ""
        required = "false" if block.get("optional") else "true"
        return (
            f'<div class="bk-input" data-block-id="{_esc(block_id)}" data-required="{required}">'
            f"<label>{self.text(block.get('label'))}{optional}</label>{control}{hint_html}"
            '<div class="bk-error"></div></div>'
        )


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        options += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return options


def _plain_of(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _rich_text(block: dict[str, Any]) -> str:
    """The words of a rich_text block, flattened to mrkdwn-ish text."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                out.append(str(node.get("text", "")))
            elif node.get("type") == "user":
                out.append(f"<@{node.get('user_id', '')}>")
            elif node.get("type") == "link":
                out.append(str(node.get("text") or node.get("url", "")))
            for child in node.get("elements") or []:
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(block.get("elements"))
    return "".join(out)


def view_chrome(view: dict[str, Any], renderer: BlockKitHtml) -> dict[str, str]:
    """A modal's title, submit and close labels as HTML."""
    return {
        "title": renderer.text(view.get("title") or {"type": "plain_text", "text": "App"}),
        "submit": renderer.text(view.get("submit")) if view.get("submit") else "",
        "close": renderer.text(view.get("close") or {"type": "plain_text", "text": "Cancel"}),
    }
