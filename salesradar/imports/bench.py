"""``salesradar bench import``: time a large import of generated files on this database.

Writes a customers CSV and an opportunities CSV of the requested sizes (mixed date
spellings, amounts with thousands separators and 万, Chinese choice labels; company names
varied, or all sharing one prefix with ``shared_prefix``, the duplicate guard's worst case),
imports both
through the same service the CLI uses, then re-imports the customers to time the idempotent
path. Peak RSS is read after each step: if it stays flat as the row count grows, memory is
bounded by the batch, not the file.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from django.db import connection

from salesradar.demo.names import BRAND_HEADS, BRAND_TAILS, GIVEN, TRADES
from salesradar.imports import services

DATES = ("2026/3/{d}", "2026-03-{d:02d}", "2026年3月{d}日", "{serial}")
TIERS = ("A", "B", "C", "A（重点客户）", "C (long tail)")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _date(random_: random.Random) -> str:
    day = random_.randint(1, 28)
    return random_.choice(DATES).format(d=day, serial=45351 + day)


NAME_CHARACTERS = BRAND_HEADS + BRAND_TAILS + GIVEN


def customer_name(number: int, random_: random.Random, *, shared_prefix: bool) -> str:
    """A company name: varied by default, or all starting 基准测试客户 (the guard's worst case)."""
    if shared_prefix:
        return f"基准测试客户{number}有限公司"
    head = "".join(random_.choice(NAME_CHARACTERS) for _ in range(4))
    return f"{head}{random_.choice(TRADES)}{number}有限公司"


def write_customers(path: Path, rows: int, seed: int, *, shared_prefix: bool = False) -> None:
    random_ = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["外部编号", "客户编号", "客户名称", "行业", "地区", "客户等级", "负责人", "创建时间"]
        )
        for number in range(rows):
            writer.writerow(
                [
                    f"BX{number}",
                    f"BC{number:09d}",
                    customer_name(number, random_, shared_prefix=shared_prefix),
                    random_.choice(("制造", "零售", "能源", "金融")),
                    random_.choice(("华东", "华北", "华南")),
                    random_.choice(TIERS),
                    "bench",
                    _date(random_),
                ]
            )


def write_opportunities(path: Path, rows: int, customers: int, seed: int) -> None:
    random_ = random.Random(seed + 1)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["外部编号", "商机名称", "客户", "阶段", "金额", "负责人", "创建时间"])
        for number in range(rows):
            amount = random_.choice(
                (f"{random_.randint(1, 900)}万", f"{random_.randint(1000, 9_000_000):,}.00")
            )
            writer.writerow(
                [
                    f"BO{number}",
                    f"基准商机{number}",
                    f"BC{random_.randrange(customers):09d}",
                    random_.choice(("初步接洽", "需求确认", "方案报价", "商务谈判")),
                    amount,
                    "bench",
                    _date(random_),
                ]
            )


def _timed(path: Path, kind: str, mapping_from: str, batch_size: int) -> dict[str, Any]:
    analysis = services.analyse_file(path, kind)
    options = services.ImportOptions(
        kind=kind,
        mapping=analysis.mapping,
        source="bench",
        batch_size=batch_size,
        currency="CNY",  # the generated amounts (万, thousands separators) are in yuan
    )
    started = time.monotonic()
    cpu_started = _cpu_seconds()
    report = services.run_import(path, options)
    seconds = time.monotonic() - started
    cpu = _cpu_seconds() - cpu_started
    return {
        "step": mapping_from,
        "kind": kind,
        "rows": report.rows_read,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": report.error_count,
        "committed": report.committed,
        "seconds": round(seconds, 1),
        "rows_per_second": round(report.rows_read / seconds) if seconds else None,
        # this process's CPU time: on a shared machine wall time mostly measures the others
        "cpu_seconds": round(cpu, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def run(
    rows: int,
    *,
    opportunities: int | None,
    batch_size: int,
    seed: int,
    kind: str = "all",
    shared_prefix: bool = False,
) -> dict[str, Any]:
    """Import generated files; ``kind="customers"`` times the customers (and guard) only."""
    from salesradar.accounts.models import User

    User.objects.get_or_create(username="bench", defaults={"first_name": "Bench"})
    opportunity_rows = rows if opportunities is None else opportunities
    if kind == "customers":
        opportunity_rows = 0
    steps = []
    with tempfile.TemporaryDirectory(prefix="salesradar-bench-import-") as folder:
        customers = Path(folder) / "customers.csv"
        write_customers(customers, rows, seed, shared_prefix=shared_prefix)
        steps.append(_timed(customers, "customers", "customers, first import", batch_size))
        if opportunity_rows:
            opportunities_path = Path(folder) / "opportunities.csv"
            write_opportunities(opportunities_path, opportunity_rows, rows, seed)
            steps.append(
                _timed(
                    opportunities_path, "opportunities", "opportunities, first import", batch_size
                )
            )
        steps.append(
            _timed(customers, "customers", "customers, re-import (idempotent)", batch_size)
        )
        file_mib = round(customers.stat().st_size / 2**20, 1)
    return {
        "benchmark": "import",
        "database": connection.vendor,
        "rows": rows,
        "names": "sharing the prefix 基准测试客户" if shared_prefix else "varied",
        "duplicate_guard": "on (exact keys and similar names, every batch)",
        "customers_file_mib": file_mib,
        "batch_size": batch_size,
        "steps": steps,
    }
