"""A rendered two-alert digest in Chinese, as the dispatcher would hand it to a channel."""

from __future__ import annotations

import dataclasses
from typing import Any

from salesradar.notify.channels.base import DigestItem, Message

ITEMS = (
    DigestItem(
        severity="danger",
        severity_label="严重",
        title="报价超时未回复",
        entity="商机 O0001234 上海某某科技 ERP",
        detail="已 3.2 天未回复客户，阈值 2 天",
        link="https://radar.example.cn/opportunities/1234/",
        transition="firing",
    ),
    DigestItem(
        severity="warning",
        severity_label="警告",
        title="阶段停留过久",
        entity="商机 O0005678 杭州某某贸易 CRM",
        detail="在“方案报价”阶段停留 15 天，阈值 10 天",
        link="https://radar.example.cn/opportunities/5678/",
        transition="escalated",
    ),
)


def build_digest(**overrides: Any) -> Message:
    """Return a digest of two alerts (danger and warning); ``overrides`` replace fields."""
    message = Message(
        idempotency_id="delivery-42.attempt-key-7f3a",
        language="zh-hans",
        subject="销售预警：2 条新告警",
        text="严重 报价超时未回复：商机 O0001234 上海某某科技 ERP\n"
        "警告 阶段停留过久：商机 O0005678 杭州某某贸易 CRM",
        markdown="### 销售预警：2 条新告警\n"
        "- **严重** 报价超时未回复：商机 O0001234 上海某某科技 ERP\n"
        "- **警告** 阶段停留过久：商机 O0005678 杭州某某贸易 CRM",
        html="<h1>销售预警：2 条新告警</h1><ul><li><strong>严重</strong> 报价超时未回复</li>"
        "<li><strong>警告</strong> 阶段停留过久</li></ul>",
        items=ITEMS,
        mention_mobiles=("13800138000",),
        mention_user_ids=("zhangsan",),
        recipient_email="zhang.san@example.cn",
        recipient_name="张三",
    )
    return dataclasses.replace(message, **overrides)


# How the IM robots' HTTP-level errors are judged: (server mode, status, retry, disable).
HTTP_ERRORS = (
    ("too_many_requests", 429, True, False),
    ("server_error", 500, True, False),
    ("gone", 410, False, True),
)
