"""The spec's schema: the JSON Schema and the reference page are generated from the models,
agree with the loader, and every key of a spec is documented, checked and named on error."""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from pipeline.project import ROOT
from pipeline.spec import SpecError, load_spec
from pipeline.spec import reference as ref
from pipeline.spec.schema import SpecFile
from tests.conftest import DATA, write_spec

BUNDLED_SPECS = sorted([*DATA.glob("*/dataset.yaml"), ROOT / "benchmarks/taxi/dataset.yaml"])


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(ref.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_and_reference_are_what_the_models_generate():
    for path, text in ref.generated().items():
        assert path.read_text() == text, f"{path} is stale: run python -m {ref.__name__}"
    assert ref.main(["--check"]) == 0


def test_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "spec-reference.md"
    stale.write_text(ref.reference().replace("Adam's learning rate", "the learning rate"))
    monkeypatch.setattr(ref, "REFERENCE_PATH", stale)
    assert ref.main(["--check"]) == 1
    assert "spec-reference.md is out of date" in capsys.readouterr().err


def _nested(annotation: Any, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    """The models inside a field's type, with how their keys hang below the field."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, suffix
    elif origin is Annotated:
        yield from _nested(args[0], suffix)
    elif origin is dict:
        yield from _nested(args[1], f"{suffix}.<name>")
    elif origin is tuple:
        yield from _nested(args[0], f"{suffix}[]")
    elif origin in (Union, types.UnionType):
        for arg in args:
            yield from _nested(arg, suffix)


def _accepted_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every key the loader's models accept, walked from the models themselves."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        yield key
        for inner, suffix in _nested(field.annotation):
            yield from _accepted_keys(inner, f"{key}{suffix}.")


def test_every_key_the_loader_accepts_is_in_the_reference_and_nothing_else():
    page = ref.REFERENCE_PATH.read_text()
    documented = re.findall(r"^#+ `([^`]+)`$", page, flags=re.MULTILINE)
    accepted = list(_accepted_keys(SpecFile))
    assert len(accepted) > 60
    assert sorted(documented) == sorted(accepted)
    for key in accepted:
        assert f"| [`{key}`]" in page  # in the index table too


def _spec_keys(node: Any, prefix: str = "") -> Iterator[str]:
    """The dotted keys a spec file uses, named as the reference names them."""
    if isinstance(node, dict):
        by_name = prefix in ("columns.", "ablation.groups.")  # keys are the user's names
        for key, value in node.items():
            name = "<name>" if by_name else key
            if not by_name:
                yield f"{prefix}{name}"
            yield from _spec_keys(value, f"{prefix}{name}.")
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for value in node:
            yield from _spec_keys(value, f"{prefix[:-1]}[].")


@pytest.mark.parametrize("path", BUNDLED_SPECS, ids=lambda p: p.parent.name)
def test_bundled_spec_validates_against_the_schema_and_is_documented(path):
    data = yaml.safe_load(path.read_text())
    assert list(_validator().iter_errors(data)) == []
    documented = set(_accepted_keys(SpecFile))
    used = set(_spec_keys(data))
    assert "label.column" in used and "columns.<name>.role" in used
    assert used <= documented


@pytest.mark.parametrize("path", BUNDLED_SPECS, ids=lambda p: p.parent.name)
def test_bundled_spec_names_the_schema_on_its_first_line(path):
    first = path.read_text().splitlines()[0]
    assert first == ref.modeline(path.parent)
    relative = first.removeprefix("# yaml-language-server: $schema=")
    assert (path.parent / relative).resolve() == ref.SCHEMA_PATH


def test_a_spec_the_tests_write_names_the_schema_too(tmp_path):
    path = write_spec(tmp_path / "deep" / "er", "census")
    first = path.read_text().splitlines()[0]
    relative = first.removeprefix("# yaml-language-server: $schema=")
    assert (path.parent / relative).resolve() == ref.SCHEMA_PATH
    assert path.read_text().count("yaml-language-server") == 1


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("colums", {}, []),
        ("training.epochs", 3, ["training"]),
        ("columns.age.bins", [1], ["columns", "age"]),
        ("fairness.gate.max_gap.auc", 0.1, ["fairness", "gate", "max_gap"]),
        ("evaluation.bootstrap.samples", 9, ["evaluation", "bootstrap"]),
    ],
)
def test_schema_refuses_an_unknown_key_as_the_loader_does(tmp_path, key, value, where):
    data = yaml.safe_load((DATA / "census" / "dataset.yaml").read_text())
    *parents, last = key.split(".")
    node = data
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value
    (error,) = _validator().iter_errors(data)
    assert list(error.path) == where
    # Under a choice (`age: numeric` or a mapping), the reason is one of the branches'.
    reasons = [error.message, *(e.message for e in error.context or [])]
    assert any(f"'{last}' was unexpected" in reason for reason in reasons)
    data["files"] = {"train": str(DATA / "census/train.csv"), "test": str(DATA / "census/test.csv")}
    (tmp_path / "dataset.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=rf"unknown key\(s\) \['{last}'\]"):
        load_spec(tmp_path)


def test_every_key_has_a_description_and_examples_that_the_schema_accepts():
    schema = ref.json_schema()
    for key, prop, _ in ref.documented_keys(schema):
        described = prop.get("description") or ref._resolve(schema, prop).get("description")
        assert described, key
        assert prop.get("examples"), key
        check = jsonschema.Draft202012Validator({**prop, "$defs": schema["$defs"]})
        for example in prop["examples"]:
            assert list(check.iter_errors(example)) == [], (key, example)


def _concrete(key: str) -> str:
    """A documented key as it exists in the census spec (`columns.age.role`)."""
    return key.replace("<name>", "age").replace("[]", ".0")


def _set(data: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node: Any = data
    for name in parents:
        node = node[int(name)] if isinstance(node, list) else node.setdefault(name, {})
    node[int(last) if isinstance(node, list) else last] = value


@pytest.mark.parametrize("key", [k for k, _, _ in ref.documented_keys()])
def test_a_wrong_value_anywhere_is_one_line_naming_its_key(tmp_path, key):
    data = yaml.safe_load((DATA / "census" / "dataset.yaml").read_text())
    data["files"] = {"train": str(DATA / "census/train.csv"), "test": str(DATA / "census/test.csv")}
    data["evaluation"]["thresholds"][0]["slice"] = {"sex": "Male"}
    concrete = _concrete(key)
    _set(data, concrete, [["not", "this"]])
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    named = concrete.replace(".0", "[0]")
    assert message.startswith(f"{path}: key '{named}")
    assert "\n" not in message
    assert not re.search(r"pydantic|Input should|Value error|validation error|type=", message)


def test_a_key_that_is_not_text_is_named_by_its_mapping(tmp_path):
    data = yaml.safe_load((DATA / "census" / "dataset.yaml").read_text())
    data["columns"][1994] = "numeric"
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        SpecError, match=r"key 'columns': expected names \(text\) as keys, got 1994"
    ):
        load_spec(path)
