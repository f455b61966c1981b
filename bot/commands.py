"""The command table of ``kinerja-bot``: names, groups, parameters and the function each runs.

To add a command, add a :class:`Spec` to :data:`COMMANDS` and its words (``ringkas``,
``uraian``, ``contoh`` and one line per parameter) to ``templates/chat/cli/bantuan.yaml``.
The function is named as ``"module:function"`` and imported only when the command runs; it
takes ``(args, settings)`` and returns the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GROUPS = ("penyiapan", "siklus", "orang", "operasi")


@dataclass(frozen=True)
class Param:
    """A positional argument (``flag`` empty) or an option (``flag`` like ``--keluaran``)."""

    name: str
    flag: str = ""
    default: Any = None  # a positional argument without a default is required
    is_flag: bool = False
    path: bool = False  # converted to pathlib.Path
    many: bool = False  # a positional argument taking any number of values (none included)

    @property
    def required(self) -> bool:
        return not self.flag and self.default is None and not self.many


@dataclass(frozen=True)
class Spec:
    name: str
    group: str
    target: str  # "module:function"
    params: tuple[Param, ...] = ()


KANTOR = Param("kantor")
NIP = Param("nip")
ALASAN = Param("alasan", "--alasan", default="")
BERKAS = Param("berkas", path=True)

COMMANDS: tuple[Spec, ...] = (
    # penyiapan
    Spec("impor-kantor", "penyiapan", "bot.admin:import_office_file", (BERKAS,)),
    Spec(
        "impor-pk",
        "penyiapan",
        "bot.admin:import_pk_file",
        (KANTOR, Param("berkas", path=True), Param("per_triwulan", "--per-triwulan", is_flag=True)),
    ),
    Spec("templat-pk", "penyiapan", "bot.admin:write_pk_template", (BERKAS,)),
    Spec(
        "skema",
        "penyiapan",
        "bot.schema_cmd:write_schema_files",
        (Param("keluaran", "--keluaran", default="skema", path=True),),
    ),
    # siklus
    Spec(
        "buka-siklus",
        "siklus",
        "bot.admin:open_cycle",
        (KANTOR, Param("periode", default=""), Param("catatan", "--catatan", default="")),
    ),
    Spec("siklus", "siklus", "bot.admin:show_cycle", (KANTOR, Param("periode", default=""))),
    Spec(
        "ekspor-log",
        "siklus",
        "bot.admin:export_log",
        (KANTOR, Param("periode"), Param("berkas", path=True)),
    ),
    # orang
    Spec("daftar-orang", "orang", "bot.admin:list_people", (KANTOR,)),
    Spec("undangan-baru", "orang", "bot.admin:reissue_invite", (KANTOR, NIP)),
    Spec(
        "plt",
        "orang",
        "bot.admin:add_acting",
        (
            KANTOR,
            NIP,
            Param("peran"),
            Param("mulai"),
            Param("sampai"),
            Param("jenis", "--jenis", default="Plt"),
            ALASAN,
        ),
    ),
    Spec("plt-hapus", "orang", "bot.admin:remove_acting", (KANTOR, Param("id"), ALASAN)),
    # operasi
    Spec("jalan", "operasi", "bot.cli:run_bot", (Param("peran", "--peran", default="semua"),)),
    Spec(
        "demo",
        "operasi",
        "bot.cli:run_demo",
        (Param("keluaran", "--keluaran", default="out", path=True),),
    ),
    Spec("periksa", "operasi", "bot.doctor:run"),
    Spec("daftar-kantor", "operasi", "bot.admin:list_offices"),
    Spec("cadangkan", "operasi", "bot.admin:backup", (BERKAS,)),
    Spec("surat-mati", "operasi", "bot.admin:list_dead_letters"),
    Spec(
        "surat-mati-ulang",
        "operasi",
        "bot.admin:replay_dead_letters",
        (Param("id", many=True),),
    ),
)


def names() -> list[str]:
    """Every command's name, as ``kinerja-bot --bantuan`` lists them."""
    return [spec.name for spec in COMMANDS]
