"""Company-name keys and unified social credit codes."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from salesradar.crm.normalize import (
    CREDIT_CODE_CHARSET,
    LEGAL_SUFFIXES,
    credit_code_check_char,
    is_valid_credit_code,
    normalize_company_name,
)

# Characters company names are written in: ASCII letters and digits plus common Chinese ones.
NAME_CHARACTERS = st.sampled_from(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789上海北京深圳科技信息网络贸易华"
)
PUNCTUATION = st.sampled_from(list(" .,，。·・-_/\\&'\"()（）[]【】\u3000\t"))
names = st.text(NAME_CHARACTERS, min_size=1, max_size=20)


def to_full_width(text: str) -> str:
    """Write ASCII letters and digits in their full-width forms (Ａ, ｂ, ３)."""
    return "".join(
        chr(ord(char) + 0xFEE0) if char.isascii() and char.isalnum() else char for char in text
    )


@given(st.text(max_size=40))
@example("x l.td")
@example("ＡＢＣ（上海）有限公司")
def test_normalizing_twice_gives_the_same_key_as_once(name: str) -> None:
    once = normalize_company_name(name)
    assert normalize_company_name(once) == once


@given(names)
def test_full_width_and_half_width_spellings_give_the_same_key(name: str) -> None:
    assert normalize_company_name(to_full_width(name)) == normalize_company_name(name)


@given(names, st.lists(st.tuples(st.integers(min_value=0), PUNCTUATION), max_size=6))
@example("xltd", [(2, "-")])
def test_punctuation_and_spacing_anywhere_do_not_change_the_key(
    name: str, insertions: list[tuple[int, str]]
) -> None:
    # given a name and the same name with punctuation or spaces put between its characters
    punctuated = name
    for position, mark in insertions:
        index = position % (len(punctuated) + 1)
        punctuated = punctuated[:index] + mark + punctuated[index:]
    # then both names give the same key
    assert normalize_company_name(punctuated) == normalize_company_name(name)


@given(names)
def test_keys_are_lower_case_and_free_of_spaces(name: str) -> None:
    key = normalize_company_name(name)
    assert key == key.lower()
    assert " " not in key


@given(
    st.text(st.sampled_from("上海北京深圳某科技信息网络贸易华"), min_size=2, max_size=10),
    st.sampled_from(["有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "集团", "公司"]),
)
def test_chinese_legal_suffixes_are_removed(core: str, suffix: str) -> None:
    assert normalize_company_name(core + suffix) == normalize_company_name(core)


@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        ("上海某某科技有限公司", "上海某某科技"),
        ("上海某某科技股份有限公司", "上海某某科技"),
        ("ＡＢＣ Co., Ltd.", "abc"),
        ("ABC Company Limited", "abc"),
        ("abc, Inc.", "ABC"),
        ("ＡＢＣ（上海）有限公司", "ABC(上海)"),
        ("深圳某某 集团 有限公司", "深圳某某"),
    ],
)
def test_known_spelling_variants_meet(variant: str, plain: str) -> None:
    assert normalize_company_name(variant) == normalize_company_name(plain)


@given(names)
@example("Limited")
@example("有限公司")
def test_a_name_never_collapses_to_an_empty_key(name: str) -> None:
    # even a company called just "Limited" keeps something to compare by
    assert normalize_company_name(name) != ""


def test_different_companies_keep_different_keys() -> None:
    assert normalize_company_name("上海某某科技") != normalize_company_name("北京某某科技")


def test_all_legal_suffixes_are_listed_longest_first_within_their_family() -> None:
    # "股份有限公司" must be tried before "有限公司", or "股份" would be left behind
    assert LEGAL_SUFFIXES.index("股份有限公司") < LEGAL_SUFFIXES.index("有限公司")
    assert normalize_company_name("某某股份有限公司") == "某某"


# --- unified social credit codes (GB 32100-2015) ---------------------------------------

FIRST_17 = "91310000MA1FL0000"
PUBLISHED_SAMPLE_CODE = "91350100M000100Y43"  # the sample code printed in many guides


def test_check_char_of_a_known_prefix_roundtrips_into_a_valid_code() -> None:
    # given the first 17 characters of a Shanghai enterprise code
    check = credit_code_check_char(FIRST_17)
    # then the computed check character completes a valid code
    assert check == "N"
    assert is_valid_credit_code(FIRST_17 + check)


def test_published_sample_code_is_valid_in_any_case_and_with_spaces_around() -> None:
    assert is_valid_credit_code(PUBLISHED_SAMPLE_CODE)
    assert is_valid_credit_code(f"  {PUBLISHED_SAMPLE_CODE.lower()} ")


@pytest.mark.parametrize("code", [FIRST_17 + "N", PUBLISHED_SAMPLE_CODE])
def test_corrupting_the_check_char_makes_the_code_invalid(code: str) -> None:
    for wrong in CREDIT_CODE_CHARSET.replace(code[-1], ""):
        assert not is_valid_credit_code(code[:-1] + wrong)


@pytest.mark.parametrize(
    "code",
    [
        "",
        FIRST_17,  # 17 characters
        FIRST_17 + "N0",  # 19 characters
        "91310000MA1FL000ON",  # O is not in the character set
        "9131000OMA1FL0000N",
    ],
)
def test_codes_of_wrong_length_or_with_forbidden_characters_are_invalid(code: str) -> None:
    assert not is_valid_credit_code(code)


@given(st.text(st.sampled_from(CREDIT_CODE_CHARSET), min_size=17, max_size=17))
def test_every_prefix_completed_with_its_check_char_is_valid(first17: str) -> None:
    assert is_valid_credit_code(first17 + credit_code_check_char(first17))


@given(
    st.text(st.sampled_from(CREDIT_CODE_CHARSET), min_size=17, max_size=17),
    st.integers(min_value=0, max_value=16),
    st.sampled_from(CREDIT_CODE_CHARSET),
)
def test_changing_any_single_character_is_detected(
    first17: str, position: int, replacement: str
) -> None:
    # given a valid code and a copy with one character of its first 17 replaced
    code = first17 + credit_code_check_char(first17)
    changed = code[:position] + replacement + code[position + 1 :]
    # then the copy is valid only if nothing actually changed
    assert is_valid_credit_code(changed) == (changed == code)
