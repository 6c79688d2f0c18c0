"""Normalise company names so that spelling variants of one company compare equal."""

from __future__ import annotations

import re
import unicodedata

# Longest first, so "股份有限公司" is removed before "有限公司".
LEGAL_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团",
    "公司",
    "co ltd",
    "company limited",
    "corporation",
    "limited",
    "corp",
    "inc",
    "llc",
    "gmbh",
    "ltd",
    "co",
)
_COMPACT_SUFFIXES = tuple(suffix.replace(" ", "") for suffix in LEGAL_SUFFIXES)
_PUNCTUATION = re.compile(r"[\s\.,，。·・\-_/\\&'\"()（）\[\]【】]+")


def normalize_company_name(name: str) -> str:
    """Return a comparison key: width-folded, lower case, no punctuation or legal suffix.

    NFKC folds full-width letters and brackets into their half-width forms, so
    "ＡＢＣ（上海）有限公司" and "ABC(上海)有限公司" meet.
    """
    folded = unicodedata.normalize("NFKC", name).lower()
    # TRICKY: suffixes are matched on the text without spaces, so that "x l.td" (which
    # would otherwise come out as "xltd") meets "x ltd"; and the text is folded again because
    # dropping a space can bring a letter and a combining mark together ("A´" -> "á"). Both
    # keep the key idempotent.
    compact = unicodedata.normalize("NFKC", _PUNCTUATION.sub("", folded))
    changed = True
    while changed and compact:
        changed = False
        for suffix in _COMPACT_SUFFIXES:
            if compact.endswith(suffix) and len(compact) > len(suffix):
                compact = compact[: -len(suffix)]
                changed = True
                break
    return compact


CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a code."""
    total = sum(
        CREDIT_CODE_CHARSET.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """Tell whether ``code`` is an 18-character unified social credit code with a valid check."""
    code = code.strip().upper()
    if len(code) != 18 or any(char not in CREDIT_CODE_CHARSET for char in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


# Provincial-level divisions and the larger cities, the place names a company name carries as
# a prefix (上海某某科技有限公司) or in brackets (某某科技（上海）有限公司). Longest first.
PLACE_NAMES = tuple(
    sorted(
        (
            "北京",
            "天津",
            "上海",
            "重庆",
            "河北",
            "山西",
            "辽宁",
            "吉林",
            "黑龙江",
            "江苏",
            "浙江",
            "安徽",
            "福建",
            "江西",
            "山东",
            "河南",
            "湖北",
            "湖南",
            "广东",
            "海南",
            "四川",
            "贵州",
            "云南",
            "陕西",
            "甘肃",
            "青海",
            "台湾",
            "内蒙古",
            "广西",
            "西藏",
            "宁夏",
            "新疆",
            "香港",
            "澳门",
            "深圳",
            "广州",
            "杭州",
            "南京",
            "苏州",
            "成都",
            "武汉",
            "西安",
            "青岛",
            "大连",
            "宁波",
            "厦门",
            "无锡",
            "长沙",
            "郑州",
            "沈阳",
            "济南",
            "合肥",
            "福州",
            "昆明",
            "哈尔滨",
            "长春",
            "石家庄",
            "太原",
            "南昌",
            "南宁",
            "贵阳",
            "兰州",
            "东莞",
            "佛山",
            "珠海",
            "中山",
            "常州",
            "温州",
            "烟台",
            "泉州",
        ),
        key=len,
        reverse=True,
    )
)
_PLACE_SUFFIXES = ("特别行政区", "自治区", "省", "市")
_BRACKETED = re.compile(r"[(（\[【]([^)）\]】]{1,12})[)）\]】]")


def _strip_place(text: str) -> str:
    for place in PLACE_NAMES:
        if text.startswith(place):
            rest = text[len(place) :]
            for suffix in _PLACE_SUFFIXES:
                if rest.startswith(suffix):
                    rest = rest[len(suffix) :]
                    break
            return rest if rest else text
    return text


def _is_place(text: str) -> bool:
    return any(
        text == place or text in {place + suffix for suffix in _PLACE_SUFFIXES}
        for place in PLACE_NAMES
    )


def company_match_key(name: str) -> str:
    """Return the duplicate guard's name key: ``normalize_company_name`` without the place.

    上海某某科技有限公司, 某某科技（上海）有限公司 and 某某科技(上海) all give 某某科技: a place
    name in brackets or in front is dropped, then the usual normalisation applies. Two
    branches in different cities meet on this key, which is why a name match is only ever
    flagged for review, never refused.
    """
    folded = unicodedata.normalize("NFKC", name).strip()
    folded = _BRACKETED.sub(
        lambda match: "" if _is_place(match.group(1)) else match.group(0), folded
    )
    key = normalize_company_name(folded)
    stripped = _strip_place(key)
    # a suffix can stand before the place ("某某科技有限公司（上海）"), so normalise once more
    return normalize_company_name(stripped) or key


NAME_BLOCK_LENGTH = 3
NAME_SUBBLOCK_LENGTH = 6


def name_block(key: str) -> str:
    """Return the first characters of a name key: fuzzy matching compares within a block."""
    return key[:NAME_BLOCK_LENGTH]


def name_subblock(key: str) -> str:
    """Return the longer prefix that splits a block too crowded to compare within."""
    return key[:NAME_SUBBLOCK_LENGTH]


class NormalizationError(ValueError):
    """A value that cannot be a phone number or an email address; the message says why."""


def normalize_phone(raw: str, *, default_region: str = "CN") -> str:
    """Return the number in E.164 (+8613800138000), or raise NormalizationError.

    Numbers without a country code are read as Chinese; 0086 and +86 prefixes, spaces,
    dashes and full-width digits are all accepted.
    """
    import phonenumbers
    from django.utils.translation import gettext as _

    text = unicodedata.normalize("NFKC", raw).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise NormalizationError(_("{value!r} is not a phone number.").format(value=raw)) from None
    if not phonenumbers.is_valid_number(number):
        raise NormalizationError(_("{value!r} is not a valid phone number.").format(value=raw))
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def phone_key_or_blank(raw: str) -> str:
    """Return the E.164 key of ``raw``, or "" when it is empty or unreadable (stored data)."""
    if not raw or not raw.strip():
        return ""
    try:
        return normalize_phone(raw)
    except NormalizationError:
        return ""


def normalize_email(raw: str) -> str:
    """Return the address trimmed, width-folded and lower-cased ("" stays "")."""
    return unicodedata.normalize("NFKC", raw or "").strip().lower()
