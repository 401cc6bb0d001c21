"""What a petitioner types, cleaned and checked (domain-rules §2.4 V1, V2): pure functions."""

from __future__ import annotations

import pytest

from bot import validation
from bot.errors import DomainError


def refused(check: object, *args: object) -> DomainError:
    """The DomainError that `check(*args)` raises."""
    with pytest.raises(DomainError) as error:
        check(*args)  # type: ignore[operator]
    return error.value


# --- clean_text ------------------------------------------------------------------------------


def test_clean_text_normalises_to_nfc() -> None:
    decomposed = "Jose\u0301 cafe\u0301"
    assert validation.clean_text(decomposed) == "José café"
    assert validation.clean_text(decomposed) == "Jos\u00e9 caf\u00e9"


def test_clean_text_removes_control_characters_but_keeps_newlines_and_tabs() -> None:
    raw = "第一行\x00\x07\x1b[31m\n第二行\tA\x7f\x85B"
    assert validation.clean_text(raw) == "第一行[31m\n第二行\tAB"


def test_clean_text_turns_carriage_returns_into_newlines() -> None:
    assert validation.clean_text("一\r\n二\r三") == "一\n二\n三"


def test_clean_text_removes_bidirectional_overrides_and_isolates() -> None:
    overrides = "".join(chr(c) for c in range(0x202A, 0x202F))  # LRE RLE PDF LRO RLO
    isolates = "".join(chr(c) for c in range(0x2066, 0x206A))  # LRI RLI FSI PDI
    raw = f"{overrides}退款{isolates}金额\u202e0001\u202c元\u200e\u200f\u061c"
    assert validation.clean_text(raw) == "退款金额0001元"


def test_clean_text_collapses_runs_of_blank_lines_and_trims() -> None:
    raw = "  \n\n第一段   \n\n\n\n  \n\t\n第二段\n\n第三段\n\n\n"
    assert validation.clean_text(raw) == "第一段\n\n第二段\n\n第三段"


def test_clean_text_keeps_ordinary_text_unchanged() -> None:
    text = "我叫张三，住在成都市。\n\n“请求”：补发补贴（2025年）！"
    assert validation.clean_text(text) == text
    assert validation.clean_text("") == ""
    assert validation.clean_text("\u202e\x00 \n ") == ""


def test_one_line_folds_lines_and_spaces() -> None:
    assert validation.one_line("  张\n三 \t 丰  ") == "张 三 丰"


# --- request, name, address ------------------------------------------------------------------


def test_a_request_is_cleaned_and_kept_within_its_limits() -> None:
    assert validation.request("  请求补发补贴\u202e  ", 500) == "请求补发补贴"
    assert validation.request("a" * 500, 500) == "a" * 500
    assert refused(validation.request, "", 500).code == "empty"
    assert refused(validation.request, "\n\u202e\x00 ", 500).code == "empty"
    short = refused(validation.request, "补贴", 500)
    assert (short.code, short.params) == ("too_short", {"minimum": validation.REQUEST_MIN})
    long = refused(validation.request, "请" * 501, 500)
    assert (long.code, long.params) == ("too_long", {"maximum": 500, "length": 501})
    assert refused(validation.request, "请" * 10_000, 500).params["length"] == 10_000


def test_a_name_has_a_letter_is_one_line_and_at_most_64_characters() -> None:
    assert validation.name("张三") == "张三"
    assert validation.name("  欧阳\n 娜娜 ") == "欧阳 娜娜"
    assert validation.name("Ivan Petrov") == "Ivan Petrov"
    assert validation.name("李\u202e四") == "李四"
    assert validation.name("王" * 64) == "王" * 64
    assert refused(validation.name, "").code == "empty"
    assert refused(validation.name, "  \n ").code == "empty"
    assert refused(validation.name, "12345").code == "name_invalid"
    assert refused(validation.name, "--- !!! ___").code == "name_invalid"
    assert refused(validation.name, "王" * 65).code == "too_long"
    assert refused(validation.name, "王" * 10_000).params == {"maximum": 64, "length": 10_000}


def test_an_address_is_cleaned_and_between_4_and_300_characters() -> None:
    address = "四川省成都市锦江区红星路一段1号"
    assert validation.address(f" {address}\u2066 ") == address
    assert validation.address("红星路1") == "红星路1"
    assert validation.address("锦江区\n\n\n\n红星路1号") == "锦江区\n\n红星路1号"
    assert refused(validation.address, "").code == "empty"
    assert refused(validation.address, "成都").params == {"minimum": validation.ADDRESS_MIN}
    assert refused(validation.address, "路" * 301).code == "too_long"
    assert refused(validation.address, "路" * 10_000).code == "too_long"


# --- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits
        ("028-85551234", "+862885551234"),  # Chengdu landline with its area code
        ("(028) 8555 1234", "+862885551234"),
        ("010-62751234", "+861062751234"),  # Beijing
        ("+86 28 8555 1234", "+862885551234"),
        ("+44 20 7946 0958", "+442079460958"),  # foreign numbers need their +
        ("+1 650 253 0000", "+16502530000"),
        ("+49 30 901820", "+4930901820"),
    ],
)
def test_a_valid_phone_number_is_stored_in_e164(typed: str, stored: str) -> None:
    assert validation.phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "10086",  # a service number, not a personal one
        "1380013800",  # a digit short
        "138001380001",  # a digit too many
        "85551234",  # a landline without its area code
        "+86 123",
        "abc",
        "电话号码",
        "我的电话是一三八",
        "+",
        "+999 1234 5678",
        "1" * 33,
        "1" * 10_000,
        "13800138000" * 1000,
    ],
)
def test_an_invalid_phone_number_is_refused(typed: str) -> None:
    assert refused(validation.phone, typed).code == "phone_invalid"


def test_an_empty_phone_number_is_refused_as_empty() -> None:
    assert refused(validation.phone, "").code == "empty"
    assert refused(validation.phone, " \n\u202e ").code == "empty"


def test_a_shared_contacts_number_may_lack_its_plus() -> None:
    assert validation.contact_phone("8613800138000") == "+8613800138000"
    assert validation.contact_phone("+8613800138000") == "+8613800138000"
    assert validation.contact_phone(" 447911123456 ") == "+447911123456"
    assert validation.contact_phone("16502530000") == "+16502530000"
    assert refused(validation.contact_phone, "12345").code == "phone_invalid"
    assert refused(validation.contact_phone, "").code == "empty"
    assert refused(validation.contact_phone, "9" * 10_000).code == "phone_invalid"
