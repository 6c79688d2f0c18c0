"""Turn a typed or dictated follow-up note into proposed fields, offline and in-process.

Nothing here writes: a proposal is shown to the rep, who confirms or corrects each field
before the follow-up is saved through the one follow-up verb. The organisation's own
customers, contacts, deals, products and competitors form the dictionary the note is read
against; dates, amounts and activity kinds come from rules (both languages), segmentation
from jieba with the dictionary's words added.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from salesradar.capture.dates import DueDate, find_due_dates
from salesradar.crm.normalize import company_match_key, normalize_company_name

# Words that describe what a company does rather than who it is: "华东精工机械" is called
# "华东精工" in speech, so the part before one of these is a second name to look for.
_TRADE_WORDS = (
    "机械",
    "科技",
    "电子",
    "技术",
    "信息",
    "软件",
    "制造",
    "贸易",
    "实业",
    "工业",
    "设备",
    "材料",
    "医疗",
    "网络",
    "智能",
    "自动化",
    "精密",
    "能源",
    "物流",
    "化工",
    "环保",
    "生物",
    "新材料",
    "数据",
    "系统",
    "工程",
    "电气",
    "汽车",
    "食品",
    "服务",
    "咨询",
    "股份",
    "仪器",
    "robotics",
    "technologies",
    "technology",
    "tech",
    "systems",
    "solutions",
    "industries",
    "manufacturing",
    "logistics",
    "software",
    "group",
    "holdings",
    "traders",
    "trading",
)
# Regions are written in front of names but name no one: "华东" alone is not a customer.
_REGIONS = {"华东", "华南", "华北", "华中", "西南", "西北", "东北", "江南", "中国", "国际"}
_CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\n]+|(?<=[a-z0-9])\.\s+|\s+and\s+|\s*并且?\s*|但是?")
_SURNAME_TITLE = re.compile(
    r"([\u4e00-\u9fff])(总经理|总监|总工|总|经理|主任|处长|科长|部长|局长|院长|董事长|董|工|老师|博士|先生|女士|小姐|助理|主管)"
)
_EN_TITLE_NAME = re.compile(r"\b(?i:mr|mrs|ms|miss|dr)\.?\s+([A-Z][a-z]+)")

# Order matters: the first kind whose words appear wins ("电话会议" is a meeting).
_KIND_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("demo", ("演示", "demo", "试用", "poc", "样机")),
    (
        "meeting",
        (
            "会议",
            "开会",
            "视频会",
            "线上会",
            "腾讯会议",
            "钉钉会议",
            "zoom",
            "meeting",
            "workshop",
            "研讨",
            "交流会",
            "评审会",
        ),
    ),
    (
        "visit",
        (
            "拜访",
            "上门",
            "到访",
            "来访",
            "现场",
            "去了",
            "走访",
            "参观",
            "visited",
            "visit",
            "on site",
            "onsite",
            "at their office",
            "dropped by",
        ),
    ),
    ("call", ("电话", "致电", "通话", "打给", "来电", "回电", "call", "called", "phoned", "rang")),
    ("email", ("邮件", "email", "emailed", "e-mail", "mailed", "邮箱")),
    (
        "im",
        (
            "微信",
            "企微",
            "企业微信",
            "钉钉",
            "飞书",
            "wechat",
            "whatsapp",
            "message",
            "im ",
            "texted",
            "短信",
        ),
    ),
]
_OBJECTION_WORDS: dict[str, tuple[str, ...]] = {
    "price": (
        "价格",
        "报价高",
        "太贵",
        "贵了",
        "便宜",
        "降价",
        "折扣",
        "优惠",
        "价低",
        "价格低",
        "成本",
        "price",
        "pricing",
        "expensive",
        "cheaper",
        "discount",
        "cost",
    ),
    "budget": (
        "预算还没",
        "预算没",
        "预算不",
        "预算有限",
        "预算紧",
        "超预算",
        "超出预算",
        "没有预算",
        "资金紧张",
        "above their budget",
        "over budget",
        "above budget",
        "no budget",
        "budget is tight",
        "budget not approved",
        "tight budget",
        "funding",
    ),
    "timeline": (
        "上线",
        "交期",
        "工期",
        "时间紧",
        "进度",
        "年底前",
        "deadline",
        "timeline",
        "go-live",
        "go live",
        "delivery date",
        "schedule",
    ),
    "implementation": (
        "实施周期",
        "实施时间",
        "部署周期",
        "上线周期",
        "implementation timeline",
        "implementation time",
        "deployment time",
    ),
    "quality": ("质量", "稳定性", "故障", "bug", "quality", "reliability", "outage"),
    "decision": ("决策", "审批", "领导拍板", "董事会", "老板", "decision", "approval", "board"),
}
_COMPETITOR_PATTERN = re.compile(
    r"(?:竞品|竞争对手|友商|对手)\s*([A-Za-z0-9]{1,12}|[\u4e00-\u9fff]{2,4}?)"
    r"(?=的|价格|报价|便宜|更|也|在|已|正|给|，|,|。|\s|$)"
)
_EN_COMPETITOR_PATTERN = re.compile(
    r"\b(?:competitor|rival|vendor)\s+([A-Z][\w&-]*)"
    r"|\b([A-Z][\w&-]*)\s+(?:is|was|came in)\s+(?:\d+\s*%\s+)?cheaper\b"
)
# What the customer wants or plans ("要求元旦前上线", "they go live next month") has a date
# but is not the rep's to-do, unless the clause also says what we will do.
_THEIR_WISH = re.compile(
    r"要求|希望|想|计划|打算|他们|对方|客户|上线|启动|推迟|延期|\bthey\b|\bwants?\b|\basks?\b|"
    r"\bplans?\b|go[- ]live|postponed|moves? to",
    re.I,
)
# A promise on its own makes a to-do; a verb of doing needs a due date beside it.
_PROMISE = re.compile(
    r"承诺|答应|约好|约定|保证|promised|agreed to|committed to|we will|i will|will\s", re.I
)
_COMMITMENT = re.compile(
    r"承诺|答应|需要|安排|准备|提供|发送|发给|寄|回复|跟进|约|预约|补充|提交|确认|整理|出一?份|给出|做出|拿出|出具|再去|上门|联系|打电话|拜访"
    r"|发(?:方案|报价|资料|合同|邮件|样品|给)|给(?:报价|方案|答复|回复)|出(?:方案|报价)|做(?:方案|演示|报价)"
    r"|promised|will\s|need to|needs to|agreed to|committed to|to send|follow up|follow-up"
    r"|send\s|prepare|schedule|set up|arrange",
    re.I,
)
_COMMITMENT_LEAD = re.compile(
    r"^(?:我们|我|我方|已经?|已|并|会|将|需|要)*(?:承诺|答应|计划|打算)?(?:会|将|要)?(?:在)?"
    r"|^(?:we|i)\s+(?:have\s+)?(?:promised|agreed|committed)\s+to\s+|^(?:we|i)\s+will\s+"
    r"|^(?:promised|agreed|committed)\s+to\s+|^need\s+to\s+|^to\s+",
    re.I,
)
_AMOUNT = re.compile(
    r"(?:[¥￥$]|rmb|cny|usd)?\s*(\d+(?:[.,]\d+)*)\s*(亿|万|千|k|m|w)?\s*(?:元|块|rmb|cny|usd|dollars)?"
    r"|([零一二两三四五六七八九十百千]+)\s*(亿|万)",
    re.I,
)
_AMOUNT_CONTEXT = re.compile(
    r"报价|预算|金额|合同|订单|单子|采购|投入|价|budget|quote|deal|order|worth|contract|price", re.I
)
_UNITS = {
    "亿": Decimal(100_000_000),
    "万": Decimal(10_000),
    "w": Decimal(10_000),
    "千": Decimal(1_000),
    "k": Decimal(1_000),
    "m": Decimal(1_000_000),
}


@dataclass(frozen=True)
class CustomerEntry:
    id: int
    name: str
    owner_id: int | None = None


@dataclass(frozen=True)
class ContactEntry:
    id: int
    customer_id: int
    name: str
    title: str = ""


@dataclass(frozen=True)
class DealEntry:
    id: int
    customer_id: int
    name: str
    product_line: str = ""


@dataclass
class OrgDictionary:
    """What the organisation knows by name; built once per request from the database."""

    customers: list[CustomerEntry]
    contacts: list[ContactEntry] = field(default_factory=list)
    deals: list[DealEntry] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    competitors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._names: list[tuple[str, int, int]] = []  # (name form, customer id, weight)
        for customer in self.customers:
            for form, weight in _name_forms(customer.name):
                self._names.append((form, customer.id, weight))
        self._by_customer: dict[int, CustomerEntry] = {c.id: c for c in self.customers}

    def customer(self, customer_id: int) -> CustomerEntry | None:
        return self._by_customer.get(customer_id)


@dataclass(frozen=True)
class Proposed:
    """One proposed field: its value, the words it came from, and how sure the parser is."""

    value: Any
    evidence: str
    confidence: str  # "high": exact match; "low": fuzzy or one of several
    alternatives: tuple[Any, ...] = ()


@dataclass
class NoteProposal:
    customer: Proposed | None = None
    contact: Proposed | None = None
    kind: Proposed | None = None
    objections: list[Proposed] = field(default_factory=list)
    competitors: list[str] = field(default_factory=list)
    todo: Proposed | None = None
    due: Proposed | None = None
    deal: Proposed | None = None
    amount: Proposed | None = None
    keywords: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _name_forms(name: str) -> list[tuple[str, int]]:
    """Return the ways a company is written in a note, with how much each one says."""
    forms: dict[str, int] = {}
    full = normalize_company_name(name)
    key = company_match_key(name)
    for form, weight in ((full, 3), (key, 3)):
        if len(form) >= 2:
            forms.setdefault(form, weight)
    for base in (full, key):
        for word in _TRADE_WORDS:
            index = base.find(word)
            if index >= 2:
                short = base[:index].strip()
                if len(short) >= 3:
                    forms.setdefault(short, 2)
                elif len(short) == 2 and short not in _REGIONS:
                    forms.setdefault(short, 1)
    words = key.split()
    if len(words) > 1 and len(words[0]) >= 4:
        forms.setdefault(words[0], 1)
    return list(forms.items())


_tokenizer_lock = threading.Lock()
_tokenizer: Any = None
_known_words: set[str] = set()


def segment(text: str, words: list[str]) -> list[str]:
    """Cut ``text`` into words with jieba, the organisation's own names kept whole."""
    global _tokenizer
    import jieba

    with _tokenizer_lock:
        if _tokenizer is None:
            jieba.setLogLevel(60)
            _tokenizer = jieba.Tokenizer()
        for word in words:
            if word and word not in _known_words:
                _tokenizer.add_word(word, freq=2000)
                _known_words.add(word)
        return [token for token in _tokenizer.lcut(text) if token.strip()]


def _match_customer(note: str, dictionary: OrgDictionary, owner_id: int | None) -> Proposed | None:
    folded = _fold(note)
    compact = re.sub(r"\s+", "", folded)
    exact: dict[int, tuple[int, str]] = {}
    for form, customer_id, weight in dictionary._names:
        haystack = compact if " " not in form else folded
        if form in haystack:
            score = weight * 100 + len(form)
            if score > exact.get(customer_id, (0, ""))[0]:
                exact[customer_id] = (score, form)
    if exact and max(score for score, _form in exact.values()) < 200:
        fuzzy = _fuzzy_customer(compact, dictionary, owner_id)
        if fuzzy is not None:
            return fuzzy
    if exact:
        ranked = sorted(
            exact.items(),
            key=lambda item: (
                item[1][0],
                dictionary._by_customer[item[0]].owner_id == owner_id,
            ),
            reverse=True,
        )
        best_id, (best_score, form) = ranked[0]
        # A longer name that contains a shorter one ("华东精工机械" over "华东精工") wins outright.
        rivals = [cid for cid, (score, _f) in ranked[1:] if score == best_score]
        if rivals:
            own = [
                cid
                for cid in [best_id, *rivals]
                if dictionary._by_customer[cid].owner_id == owner_id
            ]
            if len(own) == 1:
                return Proposed(
                    own[0], form, "low", tuple(c for c in [best_id, *rivals] if c != own[0])
                )
            return Proposed(best_id, form, "low", tuple(rivals))
        return Proposed(best_id, form, "high", tuple(cid for cid, _v in ranked[1:4]))
    return _fuzzy_customer(compact, dictionary, owner_id)


def _fuzzy_customer(
    compact: str, dictionary: OrgDictionary, owner_id: int | None
) -> Proposed | None:
    """Find a name written with a typo: the best window of the note against each name form."""
    from rapidfuzz import fuzz

    scored: dict[int, tuple[float, str]] = {}
    for form, customer_id, weight in dictionary._names:
        if len(form) < 3 or weight < 2:
            continue
        alignment = fuzz.partial_ratio_alignment(form, compact, score_cutoff=74)
        if alignment is None:
            continue
        score = alignment.score
        if form.isascii() and (len(form) < 6 or score < 80):
            continue
        if score > scored.get(customer_id, (0.0, ""))[0]:
            scored[customer_id] = (score, compact[alignment.dest_start : alignment.dest_end])
    if not scored:
        return None
    ranked = sorted(scored.items(), key=lambda item: item[1][0], reverse=True)
    best_id, (best_score, evidence) = ranked[0]
    close = [cid for cid, (score, _e) in ranked[1:] if best_score - score < 5]
    if close:
        own = [
            cid for cid in [best_id, *close] if dictionary._by_customer[cid].owner_id == owner_id
        ]
        if len(own) != 1:
            return None
        best_id = own[0]
        close = [cid for cid in [ranked[0][0], *close] if cid != best_id]
    return Proposed(best_id, evidence, "low", tuple(close))


def _match_contact(
    note: str, dictionary: OrgDictionary, customer_id: int | None
) -> tuple[Proposed | None, int | None]:
    """Return the contact and, when the note names no customer, the contact's customer."""
    folded = _fold(note)
    pool = [c for c in dictionary.contacts if customer_id is None or c.customer_id == customer_id]
    full = [c for c in pool if len(c.name) >= 2 and _fold(c.name) in folded]
    if customer_id is None and len({c.customer_id for c in full}) != 1:
        return None, None
    if full:
        best = max(full, key=lambda c: len(c.name))
        return Proposed(best.id, best.name, "high"), best.customer_id
    if customer_id is None:
        return None, None
    for match in _SURNAME_TITLE.finditer(note):
        surname, title = match.groups()
        same = [c for c in pool if c.name.startswith(surname)]
        if len(same) > 1:
            same = [c for c in same if title[0] in c.title] or same
        if len(same) == 1:
            return Proposed(same[0].id, match.group(0), "high"), customer_id
        if same:
            return Proposed(
                same[0].id, match.group(0), "low", tuple(c.id for c in same[1:])
            ), customer_id
    for match in _EN_TITLE_NAME.finditer(note):
        surname = match.group(1).lower()
        same = [c for c in pool if c.name.lower().split()[-1:] == [surname]]
        if len(same) == 1:
            return Proposed(same[0].id, match.group(0), "high"), customer_id
    return None, customer_id


_PAST = re.compile(
    r"上上?(?:个)?(?:周|星期|礼拜)|昨天|前天|上次|之前|last\s+(?:week|time|month)|yesterday", re.I
)


def _match_kind(note: str, todo: Proposed | None) -> Proposed | None:
    """Read the kind from what happened: not from the past ("上周三拜访过"), not from the to-do."""
    clauses = [c for c in _CLAUSE_SPLIT.split(note) if c and c.strip()]
    kept = [c for c in clauses if not _PAST.search(c) and not (todo and c.strip() == todo.evidence)]
    folded = _fold("，".join(kept) if kept else note)
    for kind, words in _KIND_WORDS:
        for word in words:
            if re.search(r"[a-z]", word):
                if re.search(r"\b" + re.escape(word.strip()) + r"\b", folded):
                    return Proposed(kind, word.strip(), "high")
            elif word in folded:
                return Proposed(kind, word, "high")
    return None


def _objections(note: str, dictionary: OrgDictionary) -> tuple[list[Proposed], list[str]]:
    folded = _fold(note)
    clauses = [c for c in _CLAUSE_SPLIT.split(note) if c and c.strip()]
    found: list[Proposed] = []
    competitors: list[str] = []
    for name in dictionary.competitors:
        if name and _fold(name) in folded and name not in competitors:
            competitors.append(name)
    for match in _COMPETITOR_PATTERN.finditer(note):
        name = match.group(1)
        if not any(name in known for known in competitors):
            competitors.append(name)
    for match in _EN_COMPETITOR_PATTERN.finditer(note):
        name = match.group(1) or match.group(2)
        if name and name not in competitors and name.lower() not in {"the", "they", "it", "we"}:
            competitors.append(name)
    for name in competitors:
        clause = next((c for c in clauses if name in c), name)
        found.append(Proposed("competitor", clause.strip(), "high", (name,)))
    for kind, words in _OBJECTION_WORDS.items():
        for word in words:
            hit = (
                re.search(r"\b" + re.escape(word) + r"\b", folded)
                if re.search(r"[a-z]", word)
                else (word in folded)
            )
            if hit:
                clause = next((c for c in clauses if word in _fold(c)), word)
                found.append(Proposed(kind, clause.strip(), "high"))
                break
    return found, competitors


def _todo(
    note: str, dues: list[DueDate], note_day: dt.date
) -> tuple[Proposed | None, Proposed | None]:
    """Find what was promised and by when: a promise, or a verb of doing with a date ahead.

    "今天拜访了…" has a verb and a date, but the date is the note's own day: that is what
    happened, not what is due.
    """
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(note) if c and c.strip()]
    ahead = [due for due in dues if due.day > note_day]
    with_date = [
        c
        for c in clauses
        if (
            any(due.phrase in c for due in ahead)
            and (_COMMITMENT.search(c) or not _THEIR_WISH.search(c))
        )
        or (_PROMISE.search(c) and any(due.phrase in c for due in dues))
    ]
    promised = [c for c in clauses if _PROMISE.search(c)]
    candidates = with_date or promised
    chosen = candidates[-1] if candidates else None
    due: Proposed | None = None
    if chosen is not None:
        in_clause = [d for d in dues if d.phrase in chosen]
        date = in_clause[0] if in_clause else (dues[0] if dues else None)
        if date is not None:
            due = Proposed(date.day, date.phrase, "high" if in_clause else "low")
        text = chosen
        if in_clause:
            text = re.sub(
                re.escape(in_clause[0].phrase) + r"\s*(?:前|之前|以前|内|之内)?", "", text
            )
        text = re.sub(r"^(?:by|before|on|until)\s+\S+\s*", "", text, flags=re.I)
        text = _COMMITMENT_LEAD.sub("", text.strip()).strip(" ，,：:")
        text = re.sub(r"\s+(?:by|before|until|within|in|on)$", "", text, flags=re.I)
        text = text.strip(" .。，,;；")
        return (Proposed(text, chosen, "high") if text else None), due
    return None, None


def _deal(
    note: str, dictionary: OrgDictionary, customer_id: int | None, products: list[str]
) -> Proposed | None:
    if customer_id is None:
        return None
    open_deals = [d for d in dictionary.deals if d.customer_id == customer_id]
    if not open_deals:
        return None
    folded = _fold(note)
    named = [
        d
        for d in open_deals
        if (d.product_line and _fold(d.product_line) in folded) or _fold(d.name) in folded
    ]
    if len(named) == 1:
        return Proposed(named[0].id, named[0].product_line or named[0].name, "high")
    if len(open_deals) == 1:
        return Proposed(open_deals[0].id, open_deals[0].name, "low")
    return None


def _amount(note: str) -> Proposed | None:
    import cn2an

    best: Proposed | None = None
    for match in _AMOUNT.finditer(note):
        digits, unit, numerals, numeral_unit = match.groups()
        text = match.group(0).strip()
        before = note[max(0, match.start() - 16) : match.start()]
        money_mark = bool(re.search(r"[¥￥$元块]|rmb|cny|usd|dollars", text, re.I))
        context = money_mark or bool(_AMOUNT_CONTEXT.search(before + text))
        if numerals:
            try:
                value = Decimal(str(cn2an.cn2an(numerals, "smart"))) * _UNITS[numeral_unit]
            except ValueError:
                continue
        else:
            if digits is None:
                continue
            if unit is None and not money_mark:
                continue
            if "%" in note[match.end() : match.end() + 1]:
                continue
            number = digits.replace(",", "")
            try:
                value = Decimal(number) * _UNITS.get((unit or "").lower(), Decimal(1))
            except ArithmeticError:
                continue
        if value <= 0 or not context:
            continue
        if best is None or value > best.value:
            best = Proposed(value, text, "high")
    return best


def parse_note(
    note: str,
    *,
    dictionary: OrgDictionary,
    note_day: dt.date,
    owner_id: int | None = None,
) -> NoteProposal:
    """Propose the fields of a follow-up from its note; the caller shows them for confirmation."""
    proposal = NoteProposal()
    proposal.customer = _match_customer(note, dictionary, owner_id)
    customer_id = proposal.customer.value if proposal.customer else None
    proposal.contact, contact_customer = _match_contact(note, dictionary, customer_id)
    if proposal.customer is None and contact_customer is not None:
        customer = dictionary.customer(contact_customer)
        if customer is not None:
            proposal.customer = Proposed(
                customer.id, proposal.contact.evidence if proposal.contact else "", "low"
            )
            customer_id = customer.id
    proposal.objections, proposal.competitors = _objections(note, dictionary)
    dues = find_due_dates(note, note_day)
    proposal.todo, proposal.due = _todo(note, dues, note_day)
    proposal.kind = _match_kind(note, proposal.todo)
    proposal.deal = _deal(note, dictionary, customer_id, dictionary.products)
    proposal.amount = _amount(note)
    words = (
        [form for form, _cid, _w in dictionary._names]
        + dictionary.competitors
        + dictionary.products
    )
    stop = set("的了在和与及是我他她它们也都就还又已把被给对向从")
    english_stop = {
        "the",
        "and",
        "they",
        "that",
        "this",
        "with",
        "for",
        "their",
        "them",
        "was",
        "are",
        "our",
        "will",
        "would",
        "said",
        "say",
        "says",
        "has",
        "have",
        "but",
    }
    proposal.keywords = [
        token
        for token in dict.fromkeys(segment(note, words))
        if len(token) >= 2
        and not set(token) <= stop
        and token.lower() not in english_stop
        and not (token.isascii() and len(token) < 3)
        and not re.fullmatch(r"[\W\d_]+", token)
    ][:12]
    return proposal
