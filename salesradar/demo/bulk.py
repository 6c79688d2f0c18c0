"""Moved to ``salesradar.core.tables`` (imports and the BPI converter use it, not only the demo)."""

from salesradar.core.tables import TableWriter, flush_in_order, next_id, reset_sequences

__all__ = ["TableWriter", "flush_in_order", "next_id", "reset_sequences"]
