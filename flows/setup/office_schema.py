"""The office file's models, for the JSON Schema (``kinerja-bot skema``).

They live in :mod:`flows.setup.office_file`, where they are also the validator of the import.
"""

from flows.setup.office_file import (
    IndikatorFile,
    KantorFile,
    OfficeFileModel,
    PegawaiFile,
    PengingatKantorFile,
    SeksiFile,
)

__all__ = [
    "IndikatorFile",
    "KantorFile",
    "OfficeFileModel",
    "PegawaiFile",
    "PengingatKantorFile",
    "SeksiFile",
]
