"""Run vendor-specific SQL from a migration (triggers the ORM cannot declare)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import migrations


def per_vendor(statements: Mapping[str, Sequence[str]]) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def run_sql_per_vendor(
    forward: Mapping[str, Sequence[str]], backward: Mapping[str, Sequence[str]]
) -> migrations.RunPython:
    """A reversible operation running the statements written for the current database."""
    return migrations.RunPython(per_vendor(forward), per_vendor(backward))
