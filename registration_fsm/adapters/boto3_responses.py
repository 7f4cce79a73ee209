"""boto3's responses as the port returns them. Imports neither boto3 nor botocore."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def clean(response: Any) -> dict[str, Any]:
    """A copy of ``response`` without ``ResponseMetadata``, every datetime in UTC."""
    return {k: utc(v) for k, v in response.items() if k != "ResponseMetadata"}


def utc(value: Any) -> Any:
    """``value`` with every datetime in it in UTC (copies, never mutates)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # botocore never returns these; its wire times are UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, Mapping):
        return {k: utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [utc(v) for v in value]
    return value
