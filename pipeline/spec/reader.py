"""Typed reads out of a YAML mapping, for every config file of the project.

Errors name the file and the dotted key, so a user knows what to fix without reading code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


class ConfigReader:
    """Reads typed keys out of a YAML mapping, naming the file and key on error."""

    def __init__(self, path: Path, error: type[ValueError] = ValueError) -> None:
        self.path = path
        self.error = error

    def fail(self, key: str, message: str) -> ValueError:
        return self.error(f"{self.path}: key '{key}': {message}")

    def mapping(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"expected a mapping, got {type(data).__name__} {data!r}")
        return data

    def known(self, data: dict[str, Any], key: str, allowed: set[str]) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(key, f"unknown key(s) {unknown}; allowed keys are {sorted(allowed)}")

    def required(self, data: dict[str, Any], key: str, parent: str = "") -> Any:
        full = f"{parent}.{key}" if parent else key
        if key not in data or data[key] is None:
            raise self.fail(full, "is required but missing")
        return data[key]

    def str_list(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of column names, got {value!r}")
        return tuple(value)

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        return float(value)

    def positive_int(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(key, f"expected a positive whole number, got {value!r}")
        return value
