"""Every word a user reads comes from templates/: chat messages and button labels."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml

from flows.domain import fmt
from flows.domain.periods import roman

#: The ``templates`` data package (shipped in the wheel).
TEMPLATES = Path(str(resources.files("templates")))


def sentence_end(text: object) -> str:
    """A name that ends a sentence gets one period: "S.H." stays "S.H.", never "S.H.."."""
    words = str(text)
    return words if words.endswith(".") else words + "."


def qty(value: object, satuan: str) -> str:
    """A number with its unit: "96%", "7 Desa"."""
    number = fmt.fmt_number(value)  # type: ignore[arg-type]
    return f"{number}{satuan}" if satuan == "%" else f"{number} {satuan}"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "chat"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # plain text messages, no parse mode
        auto_reload=False,  # shipped files: no stat() of the template per message
    )
    env.filters.update(
        num=fmt.fmt_number,
        pct=fmt.fmt_percent,
        date=fmt.fmt_date,
        nip=fmt.fmt_nip,
        roman=roman,
        qty=qty,
        titik=sentence_end,
        waktu=fmt.fmt_datetime,
        hari=fmt.fmt_day_date,
        zona=fmt.tz_abbrev,
    )
    env.globals["label"] = label
    return env


#: Channels where commands are plain words ("isi"), not slash commands ("/isi").
WORD_COMMAND_CHANNELS = frozenset({"whatsapp"})


def command_prefix(channel: str) -> str:
    """ "/" before a command name in help texts, or "" where commands are words."""
    return "" if channel in WORD_COMMAND_CHANNELS else "/"


def warm_up() -> Iterator[str]:
    """Compile every chat template, one per step (the caller may yield between steps): a
    process otherwise compiles each at its first message, ~15 ms for the rekap card."""
    env = _env()
    for name in env.list_templates(filter_func=lambda n: n.endswith(".txt")):
        env.get_template(name)
        yield name


def render(name: str, **context: Any) -> str:
    """Render ``templates/chat/<name>.txt`` to a message text."""
    return _env().get_template(f"{name}.txt").render(**context).strip()


@cache
def _labels() -> dict[str, str]:
    return yaml.safe_load((TEMPLATES / "chat" / "labels.yaml").read_text(encoding="utf-8"))


def label(key: str) -> str:
    """A short word from ``templates/chat/labels.yaml`` (buttons, statuses, roles)."""
    return _labels()[key]
