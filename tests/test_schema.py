"""The published JSON Schemas: current, accepted by the real files, refusing wrong ones."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.schema_cmd import SCHEMAS, schema_text, write_schemas
from flows.setup import office_file
from flows.setup.office_schema import (
    IndikatorFile,
    KantorFile,
    OfficeFileModel,
    PegawaiFile,
    PengingatKantorFile,
    SeksiFile,
)
from flows.sop.preset import PRESET_DIR

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_OFFICE = ROOT / "examples" / "sukamaju.yaml"


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = yaml.safe_load(schema_text(SCHEMAS[name]))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schemas_are_current(name: str) -> None:
    committed = ROOT / "docs" / "schema" / name
    assert committed.read_text(encoding="utf-8") == schema_text(SCHEMAS[name]), (
        "docs/schema is stale: run `kinerja-bot skema --keluaran docs/schema`"
    )


def test_skema_command_writes_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skema", "--keluaran", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(SCHEMAS)
    assert "JSON Schema ditulis ke" in capsys.readouterr().out
    assert write_schemas(tmp_path) == [tmp_path / n for n in SCHEMAS]


@pytest.mark.parametrize("path", sorted(PRESET_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_builtin_presets_match_the_schema(path: Path) -> None:
    from flows.core.yaml_file import YamlLoader, read_yaml_file

    data = read_yaml_file(path, loader=YamlLoader)
    assert list(validator("preset.schema.json").iter_errors(data)) == []


def test_sample_office_matches_the_schema() -> None:
    data = yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))
    assert list(validator("kantor.schema.json").iter_errors(data)) == []
    OfficeFileModel.model_validate(data)


def test_schema_refuses_what_the_import_refuses() -> None:
    data = yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))
    data["pegawai"][0]["peran"] = "bupati"
    data["indikator"][0]["target_tw"] = [1, 2, 3]
    data["kantor"]["warna"] = "biru"
    errors = list(validator("kantor.schema.json").iter_errors(data))
    paths = {tuple(e.absolute_path) for e in errors}
    paths |= {tuple(c.absolute_path) for e in errors for c in e.context or ()}
    assert {("pegawai", 0, "peran"), ("indikator", 0, "target_tw"), ("kantor",)} <= paths


def test_office_models_have_the_validators_keys() -> None:
    assert tuple(OfficeFileModel.model_fields) == office_file._TOP_KEYS
    assert set(KantorFile.model_fields) == set(office_file._OFFICE_KEYS)
    assert tuple(SeksiFile.model_fields) == office_file._SECTION_KEYS
    assert tuple(PegawaiFile.model_fields) == office_file._PERSON_KEYS
    assert tuple(IndikatorFile.model_fields) == office_file.INDICATOR_KEYS
    assert tuple(PengingatKantorFile.model_fields) == tuple(office_file.REMINDER_KEYS)
