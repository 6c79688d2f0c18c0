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
