"""``kinerja-bot skema``: the JSON Schema of the preset file and of the office file.

Editors (VS Code with the YAML extension, IntelliJ, …) check a file against them when it starts
with ``# yaml-language-server: $schema=<path>/kantor.schema.json``. The schemas are generated
from the pydantic models, so they never drift from what the bot reads; the copies committed in
``docs/schema/`` are kept current by a test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pydantic import BaseModel

from bot.settings import Settings
from flows.core import texts
from flows.setup.office_schema import OfficeFileModel
from flows.sop.preset import PresetFile

__all__ = ["SCHEMAS", "schema_text", "write_schema_files", "write_schemas"]

#: File name -> the model whose JSON Schema it holds.
SCHEMAS: dict[str, type[BaseModel]] = {
    "preset.schema.json": PresetFile,
    "kantor.schema.json": OfficeFileModel,
}


def schema_text(model: type[BaseModel]) -> str:
    """The model's JSON Schema (draft 2020-12) as stable, indented text."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(model.model_json_schema())
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    """Write both schemas into ``out_dir`` (created if needed); return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = out_dir / name
        path.write_text(schema_text(model), encoding="utf-8")
        written.append(path)
    return written


async def write_schema_files(args: argparse.Namespace, settings: Settings) -> int:
    """``kinerja-bot skema``: write both schemas and say where."""
    for path in write_schemas(args.keluaran):
        print(texts.render("admin/skema_ditulis", berkas=path))
    return 0
