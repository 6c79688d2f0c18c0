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
_PUNCTUATION = re.compile(r"[\s\.,，。·・\-_/\\&'\"()（）\[\]【】]+")


def normalize_company_name(name: str) -> str:
    """Return a comparison key: width-folded, lower case, no punctuation or legal suffix.

    NFKC folds full-width letters and brackets into their half-width forms, so
    "ＡＢＣ（上海）有限公司" and "ABC(上海)有限公司" meet.
    """
    folded = unicodedata.normalize("NFKC", name).lower()
    spaced = _PUNCTUATION.sub(" ", folded).strip()
    changed = True
    while changed and spaced:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            if spaced.endswith(suffix) and len(spaced) > len(suffix):
                spaced = spaced[: -len(suffix)].strip()
                changed = True
                break
    return spaced.replace(" ", "")
