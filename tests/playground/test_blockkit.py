"""Block Kit and mrkdwn to HTML: faithful enough to read, and never a way to inject markup."""

from __future__ import annotations

import html
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.playground.blockkit import BlockKitHtml

render = BlockKitHtml({"U0BOB": "Bob"})
OUR_TAGS = re.compile(
    r'</?(?:b|i|s|code|pre|br|blockquote)>|<span class="mention">|</span>'
    r'|<a href="[^"<>]*" target="_blank" rel="noopener noreferrer">|</a>'
)


def test_formatting() -> None:
    """*bold*, _italic_, ~strike~, `code` and code blocks become tags."""
    assert render.mrkdwn("*a* _b_ ~c~ `d`") == "<b>a</b> <i>b</i> <s>c</s> <code>d</code>"
    assert render.mrkdwn("```x *y*```") == "<pre>x *y*</pre>"


def test_markup_in_text_is_escaped() -> None:
    """Tags typed by a person (arriving as Slack entities or raw) show as text."""
    assert render.mrkdwn("&lt;script&gt;alert(1)&lt;/script&gt;") == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert render.mrkdwn('<img src=x onerror="alert(1)">') == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    )


def test_mentions_links_and_specials() -> None:
    """User mentions get names; links only for http(s); @here stays a word."""
    assert render.mrkdwn("<@U0BOB>") == '<span class="mention">@Bob</span>'
    assert render.mrkdwn("<!here>") == '<span class="mention">@here</span>'
    assert render.mrkdwn("<https://example.com/a?b=1&amp;c=2|docs>") == (
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer">docs</a>'
    )
    assert "href" not in render.mrkdwn("<javascript:alert(1)|click>")


def test_quotes_and_lines() -> None:
    """Lines starting with > become one blockquote; other lines are separated by <br>."""
    assert render.mrkdwn("one\ntwo\n> a\n> b\nthree") == (
        "one<br>two<blockquote>a<br>b</blockquote>three"
    )


def test_emoji_codes_become_emoji() -> None:
    """The bot's emoji codes show as emoji; unknown codes stay as typed."""
    assert render.mrkdwn(":bulb: :no_such_thing:") == "💡 :no_such_thing:"


@given(st.text(alphabet=st.sampled_from(list("<>&\"'*_~`:!@#|/ \nabU0\ue000\ue0011")), max_size=80))
def test_no_markup_but_ours_ever_comes_out(text: str) -> None:
    """Whatever the text, the output holds only the renderer's own tags."""
    out = OUR_TAGS.sub("", render.mrkdwn(text))
    assert "<" not in out and ">" not in out


def test_buttons_carry_their_action_escaped() -> None:
    """A button's action (id, block id, value) is JSON in an attribute, escaped."""
    block = {
        "type": "actions",
        "block_id": "acts",
        "elements": [
            {
                "type": "button",
                "action_id": "drill_hint",
                "value": '"><script>',
                "text": {"type": "plain_text", "text": "Hint"},
                "style": "primary",
            }
        ],
    }
    out = render.block(block)
    assert "<script>" not in out
    attribute = re.search(r'data-action="([^"]*)"', out)
    assert attribute is not None
    action = json.loads(html.unescape(attribute.group(1)))
    assert action == {
        "type": "button",
        "action_id": "drill_hint",
        "block_id": "acts",
        "text": {"type": "plain_text", "text": "Hint"},
        "value": '"><script>',
    }
    assert 'class="bk-button bk-primary"' in out


def test_feedback_buttons_draw_two_thumbs_each_with_its_value() -> None:
    """A context_actions block's feedback buttons become two small buttons; each click sends
    the element's action id with that thumb's value, escaped like any other."""
    block = {
        "type": "context_actions",
        "block_id": "drill_fair",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "drill_fair",
                "positive_button": {
                    "text": {"type": "plain_text", "text": "👍 Fair"},
                    "value": "up:attempt:7",
                    "accessibility_label": "Was this grade fair? Yes",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "<b>no</b>"},
                    "value": '"><script>',
                },
            }
        ],
    }
    out = render.block(block)
    assert out.startswith('<div class="bk-context_actions" data-block-id="drill_fair">')
    assert "<script>" not in out and "<b>no</b>" not in out and "&lt;b&gt;no&lt;/b&gt;" in out
    actions = [json.loads(html.unescape(a)) for a in re.findall(r'data-action="([^"]*)"', out)]
    assert actions == [
        {
            "type": "feedback_buttons",
            "action_id": "drill_fair",
            "block_id": "drill_fair",
            "value": "up:attempt:7",
            "text": {"type": "plain_text", "text": "👍 Fair"},
        },
        {
            "type": "feedback_buttons",
            "action_id": "drill_fair",
            "block_id": "drill_fair",
            "value": '"><script>',
            "text": {"type": "plain_text", "text": "<b>no</b>"},
        },
    ]
    assert 'aria-label="Was this grade fair? Yes"' in out
    assert "bk-unknown" not in out


def test_header_section_context_divider_image() -> None:
    """The feedback's block types all render; images only from safe URLs."""
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "82/100 · strong"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Model 30-second answer*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":bulb: tip"}]},
        {"type": "divider"},
        {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "chart"},
        {"type": "image", "slack_file": {"id": "F1"}, "alt_text": "chart"},
        {"type": "mystery"},
    ]
    out = render.blocks(blocks)
    assert "82/100 · strong" in out and "<b>Model 30-second answer</b>" in out
    assert "💡 tip" in out and "<hr" in out
    assert "javascript:" not in out and "[image: chart]" in out
    assert '<img class="bk-img" src="/playground/files/F1"' in out
    assert "[mystery block]" in out


def test_input_blocks_render_controls_with_their_ids() -> None:
    """A modal's inputs carry block and action ids; optional ones are marked."""
    out = render.blocks(
        [
            {
                "type": "input",
                "block_id": "rating",
                "label": {"type": "plain_text", "text": "Rating"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [{"text": {"type": "plain_text", "text": "5 - hire"}, "value": "5"}],
                },
            },
            {
                "type": "input",
                "block_id": "notes",
                "optional": True,
                "label": {"type": "plain_text", "text": "Notes"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
        ]
    )
    assert '<option value="5">5 - hire</option>' in out
    assert "<textarea" in out and "(optional)" in out
    assert 'data-block-id="rating" data-required="true"' in out
    assert 'data-block-id="notes" data-required="false"' in out


def test_files_show_images_inline_and_others_as_links() -> None:
    """Shared image files render as pictures from the playground, others as downloads."""
    out = render.message(
        "",
        [],
        [
            {"id": "F1", "title": "Weekly", "mimetype": "image/png"},
            {"id": "F2", "title": "data.csv", "mimetype": "text/csv"},
        ],
    )
    assert '<img src="/playground/files/F1" alt="Weekly"' in out
    assert '<a href="/playground/files/F2" download>' in out
