"""Writes the spec's JSON Schema and its reference page, both from `pipeline.spec.schema`.

    python -m pipeline.spec.reference           # writes both (also: make spec-docs)
    python -m pipeline.spec.reference --check   # exits 1 when either is out of date

`dataset.schema.json` is what editors read: a spec's first line
(`# yaml-language-server: $schema=<relative path>`, see `modeline`) makes the YAML language
server (VS Code's YAML extension, and others) complete and check its keys.
`docs/spec-reference.md` lists every key with its type, default, allowed values, description
and an example.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from pipeline.project import ROOT
from pipeline.spec.schema import SpecFile

SCHEMA_PATH = Path(__file__).resolve().with_name("dataset.schema.json")
REFERENCE_PATH = ROOT / "docs" / "spec-reference.md"
MODELINE = "# yaml-language-server: $schema="
GENERATOR = "python -m pipeline.spec.reference"


def modeline(spec_directory: Path) -> str:
    """The first line of a spec file in `spec_directory`: where editors find the schema."""
    relative = os.path.relpath(SCHEMA_PATH, Path(spec_directory).resolve())
    return f"{MODELINE}{Path(relative).as_posix()}"


def with_modeline(text: str, spec_directory: Path) -> str:
    """A spec file's `text` whose first line points at the schema from `spec_directory`
    (for a spec written or copied there)."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(MODELINE):
        lines = lines[1:]
    return f"{modeline(spec_directory)}\n{''.join(lines)}"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, keeping examples and defaults as written (not key-sorted)."""

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        if parent_key in ("examples", "default"):
            return value
        if isinstance(value, dict):
            keys = value if parent_key == "properties" else sorted(value)
            return {key: self.sort(value[key], key) for key in keys}
        if isinstance(value, list):
            return [self.sort(item, parent_key) for item in value]
        return value


def _tidy(schema: dict[str, Any]) -> None:
    """Editor-friendly properties: no null branch (a null key counts as absent, so the type
    alone is what to write), no null or section defaults (their keys have their own), no
    titles derived from field names."""
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if "anyOf" in prop:
            prop["anyOf"] = [b for b in prop["anyOf"] if b != {"type": "null"}]
            if len(prop["anyOf"]) == 1:
                (inner,) = prop.pop("anyOf")
                prop.update({key: value for key, value in inner.items() if key not in prop})
        if prop.get("default", 0) is None or "$ref" in prop:
            prop.pop("default", None)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, with descriptions, defaults and examples."""
    schema = SpecFile.model_json_schema(mode="validation", schema_generator=_Generator)
    for model in [schema, *schema.get("$defs", {}).values()]:
        _tidy(model)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Data set spec (dataset.yaml)",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    return schema["$defs"][ref.rsplit("/", 1)[-1]] if ref else prop


def _section(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any] | None:
    """The mapping of keys a property holds, if any (directly, or as one branch of anyOf)."""
    for branch in [prop, *prop.get("anyOf", [])]:
        target = _resolve(schema, branch)
        if "properties" in target:
            return target
    return None


def documented_keys(
    schema: dict[str, Any] | None = None,
) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Every key of a spec as (dotted key, its schema, required), in file order.

    A mapping keyed by the user's names shows as `<name>` (`columns.<name>.role`), a list
    of mappings as `[]` (`evaluation.thresholds[].metric`).
    """
    schema = schema or json_schema()

    def walk(section: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any], bool]]:
        required = set(section.get("required", []))
        for name, prop in section["properties"].items():
            key = f"{prefix}{name}"
            yield key, prop, name in required
            inner = _section(schema, prop)
            if inner:
                yield from walk(inner, f"{key}.")
            elif isinstance(prop.get("items"), dict) and _section(schema, prop["items"]):
                yield from walk(_section(schema, prop["items"]), f"{key}[].")
            elif isinstance(prop.get("additionalProperties"), dict):
                entry = _section(schema, prop["additionalProperties"])
                if entry:
                    yield from walk(entry, f"{key}.<name>.")

    yield from walk(schema, "")


def _type(schema: dict[str, Any], prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "mapping (keys below)"
    if "anyOf" in prop:
        return " or ".join(_type(schema, branch) for branch in prop["anyOf"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(schema, prop.get('items', {}))}"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, dict):
            return f"mapping of name to {_type(schema, values)}"
        return "mapping"
    words = {"integer": "whole number", "number": "number", "string": "text", "boolean": "boolean"}
    if isinstance(kind, list):
        return " or ".join(words[k] for k in kind)
    return words.get(kind, "any")


def _allowed(prop: dict[str, Any]) -> str:
    """The constraints beyond the type, in words."""
    parts = []
    if "enum" in prop:
        parts.append(", ".join(f"`{v}`" for v in prop["enum"]))
    low = (
        f"> {prop['exclusiveMinimum']:g}"
        if "exclusiveMinimum" in prop
        else (f">= {prop['minimum']:g}" if "minimum" in prop else "")
    )
    high = (
        f"< {prop['exclusiveMaximum']:g}"
        if "exclusiveMaximum" in prop
        else (f"<= {prop['maximum']:g}" if "maximum" in prop else "")
    )
    parts.append(" and ".join(p for p in (low, high) if p))
    if "items" in prop and isinstance(prop["items"], dict):
        inner = _allowed(prop["items"])
        parts.append(f"each {inner}" if inner else "")
    if prop.get("minItems") and prop.get("minItems") == prop.get("maxItems"):
        parts.append(f"exactly {prop['minItems']} items")
    elif prop.get("minItems"):
        parts.append(f"at least {prop['minItems']} item(s)")
    if prop.get("maxProperties") == 1:
        parts.append("one key")
    if "pattern" in prop:
        parts.append(f"matching `{prop['pattern']}`")
    return "; ".join(p for p in parts if p)


def _yaml(name: str, value: Any) -> str:
    """`name: value` as a spec writes it: blocks outside, flow style for the innermost."""
    nested = isinstance(value, (dict, list))
    text = yaml.safe_dump(
        {name: value}, sort_keys=False, default_flow_style=None if nested else False, width=88
    )
    return text.strip()


def _as_code(text: str) -> str:
    return f"`{text}`" if "\n" not in text else f"\n\n```yaml\n{text}\n```"


def reference(schema: dict[str, Any] | None = None) -> str:
    """The reference page (Markdown) of every key of a spec."""
    schema = schema or json_schema()
    lines = [
        "# Data set spec reference (`dataset.yaml`)",
        "",
        f"<!-- Generated by `{GENERATOR}` from pipeline/spec/schema.py: do not edit. -->",
        "",
        schema["description"],
        "",
        "Every key below, with its type, default, allowed values and an example. A key set to",
        "null counts as absent. Editors that read JSON Schema (VS Code's YAML extension and",
        "others using the YAML language server) complete and check the keys when a spec's",
        "first line points at `pipeline/spec/dataset.schema.json`, relative to the spec:",
        "",
        "```yaml",
        modeline(ROOT / "data" / "census"),
        "```",
        "",
        "Loading a spec also checks it against the CSV headers: every column of each file is",
        "described under `columns`, and only those.",
        "",
        "To start one from a CSV file, `python -m pipeline init path/to/file.csv --label COLUMN`",
        "writes `dataset.yaml` beside it, inferred from the data: each column's role, the",
        "missing-value tokens, the task, slices, bounds that beat the majority baseline and",
        "training steps scaled to the rows, each with a comment, and this first line. It runs",
        "as it is (`python -m pipeline run --data path/to`); it never overwrites a spec.",
        "",
        "| key | type | default |",
        "|---|---|---|",
    ]
    entries = list(documented_keys(schema))
    for key, prop, required in entries:
        default = "required" if required else _default(prop)
        anchor = key.replace(".", "").replace("[]", "").replace("<", "").replace(">", "")
        lines.append(f"| [`{key}`](#{anchor}) | {_type(schema, prop)} | {default} |")
    for key, prop, required in entries:
        depth = key.count(".") + key.count("[]")
        lines += ["", f"{'#' * min(2 + depth, 4)} `{key}`", ""]
        target = _resolve(schema, prop)
        lines.append(prop.get("description") or target.get("description", ""))
        lines += ["", f"- type: {_type(schema, prop)}"]
        allowed = _allowed(prop)
        if allowed:
            lines.append(f"- allowed: {allowed}")
        lines.append(f"- default: {'required' if required else _default(prop)}")
        name = key.rsplit(".", 1)[-1]
        for example in prop.get("examples", []):
            lines.append(f"- example: {_as_code(_yaml(name, example))}")
    return "\n".join(lines) + "\n"


def _default(prop: dict[str, Any]) -> str:
    if "default" not in prop:
        return "-"
    return f"`{json.dumps(prop['default'])}`"


def generated() -> dict[Path, str]:
    """Each generated file and the text the models give it now."""
    return {
        SCHEMA_PATH: json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n",
        REFERENCE_PATH: reference(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated().items():
        current = path.read_text() if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {os.path.relpath(path, ROOT)}")
    for path in stale:
        print(f"{os.path.relpath(path, ROOT)} is out of date: run {GENERATOR}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
