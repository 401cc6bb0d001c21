"""The stand-in's Telegram HTML parser: what it accepts, what it refuses and how it counts."""

from __future__ import annotations

import pytest

from bot.sandbox.telegram_html import HtmlParseError, ParsedText, parse_html, utf16_len


def test_plain_text_passes_through_without_entities() -> None:
    assert parse_html("Hello, 张三!") == ParsedText("Hello, 张三!", [])


def test_nested_tags_become_entities_with_utf16_offsets() -> None:
    parsed = parse_html("😀 <b>bold <i>both</i></b> 中文")
    assert parsed.text == "😀 bold both 中文"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 9},  # the emoji is two UTF-16 units
        {"type": "italic", "offset": 8, "length": 4},
    ]


@pytest.mark.parametrize(
    ("html", "entity"),
    [
        ("<strong>x</strong>", {"type": "bold"}),
        ("<em>x</em>", {"type": "italic"}),
        ("<ins>x</ins>", {"type": "underline"}),
        ("<u>x</u>", {"type": "underline"}),
        ("<s>x</s>", {"type": "strikethrough"}),
        ("<strike>x</strike>", {"type": "strikethrough"}),
        ("<del>x</del>", {"type": "strikethrough"}),
        ("<tg-spoiler>x</tg-spoiler>", {"type": "spoiler"}),
        ('<span class="tg-spoiler">x</span>', {"type": "spoiler"}),
        ("<code>x</code>", {"type": "code"}),
        ("<pre>x</pre>", {"type": "pre"}),
        (
            '<pre><code class="language-python">x</code></pre>',
            {"type": "pre", "language": "python"},
        ),
        ("<blockquote>x</blockquote>", {"type": "blockquote"}),
        ("<blockquote expandable>x</blockquote>", {"type": "expandable_blockquote"}),
        ('<a href="https://example.org/?a=1&amp;b=2">x</a>', {"type": "text_link"}),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', {"type": "custom_emoji"}),
        ("<B>x</B>", {"type": "bold"}),
    ],
)
def test_every_supported_tag_is_accepted(html: str, entity: dict[str, str]) -> None:
    parsed = parse_html(html)
    assert len(parsed.entities) == 1
    assert parsed.entities[0].items() >= entity.items()


def test_link_keeps_its_decoded_url() -> None:
    parsed = parse_html('<a href="https://example.org/?a=1&amp;b=2">link</a>')
    assert parsed.entities[0]["url"] == "https://example.org/?a=1&b=2"


def test_named_and_numeric_entities_are_decoded() -> None:
    parsed = parse_html("&lt;b&gt; &amp; &quot;q&quot; &#20013; &#x6587; &#x1F600;")
    assert parsed.text == '<b> & "q" 中 文 😀'


def test_empty_tags_make_no_entity() -> None:
    assert parse_html("a<b></b>c").entities == []


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("请<br>", 'Unsupported start tag "br" at byte offset 3'),  # offsets are UTF-8 bytes
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=https://x.org>x</a>", "Unexpected end of name token at byte offset 8"),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
    ],
)
def test_invalid_html_is_refused_with_telegrams_description(html: str, description: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html)
    assert str(caught.value).startswith(description)


@pytest.mark.parametrize("html", ["Tom & Jerry", "&nbsp;", "&amp", "&#;", "&#xD800;", "&#0;"])
def test_an_ampersand_that_starts_no_complete_entity_is_an_error(html: str) -> None:
    with pytest.raises(HtmlParseError, match='Unescaped "&" at byte offset'):
        parse_html(html)


def test_a_bare_greater_than_sign_is_accepted_like_telegram_does() -> None:
    assert parse_html("a > b").text == "a > b"


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("中文") == 2
    assert utf16_len("😀") == 2


def test_stripping_trims_blanks_and_moves_entities() -> None:
    parsed = parse_html("\n  <b>hi</b> there \n").stripped()
    assert parsed == ParsedText("hi there", [{"type": "bold", "offset": 0, "length": 2}])


def test_stripping_drops_entities_that_only_covered_blanks() -> None:
    assert parse_html("<i>  </i>x").stripped() == ParsedText("x", [])
