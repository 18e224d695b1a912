"""The Report as JSON (`bbc report --format json`): the same data the page shows, every field
named as in model.py, enums by their value, each image's `state` (the worst) added."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

from bbc.page.model import Report

SCHEMA = 1  # bumped when a field changes meaning or goes away


def as_data(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = _plain(report)
    data["schema"] = SCHEMA
    for row, image in zip(data["images"], report.images):
        row["state"] = image.state.value
        row["findings"] = dict(image.findings)
    return data


def dumps(report: Report) -> str:
    return json.dumps(as_data(report), indent=2) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value

