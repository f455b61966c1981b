"""Leaders ask, the bot answers: the Camat and Sekcam type a plain question, no command.

A small intent table (phrases for fuzzy matching, keywords that must appear) picks what is
asked; the answer comes from the database. Text that matches nothing gets the list of
questions the bot knows. Only text typed outside a conversation reaches here (the router
gives a typed answer to its question first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import local_date
from flows.core.router import Router
from flows.domain.capaian import average_capaian
from flows.domain.periods import Period, parse_period
from flows.domain.roles import HEADS
from flows.domain.states import COUNTED
from flows.sop.engine import waiting_on
from flows.sop.rekap_view import section_summaries
from flows.sop.run import Run, deadline_of, latest, load, worksheets
from storage.models import Cycle, Office, Person, Section


@dataclass(frozen=True)
class Intent:
    name: str
    phrases: tuple[str, ...]  # whole questions, matched fuzzily
    keywords: tuple[str, ...]  # at least one must appear (typos allowed)


INTENTS: tuple[Intent, ...] = (
    Intent(
        "belum_isi",
        (
            "siapa yang belum isi",
            "siapa yang belum mengisi",
            "siapa yang belum kirim",
            "siapa yang belum lapor",
            "seksi mana yang belum mengisi",
        ),
        ("belum", "blm"),
    ),
    Intent(
        "capaian",
        ("capaian tw", "berapa capaian", "capaian kinerja", "capaian triwulan", "capaian kantor"),
        ("capaian", "kinerja"),
    ),
    Intent(
        "seksi",
        ("bagaimana seksi", "gimana seksi", "bagaimana subbagian", "bagaimana kabar seksi"),
        ("seksi", "subbag", "subbagian", "kasi"),
    ),
    Intent(
        "batas",
        ("kapan batas waktu", "kapan tenggat", "kapan deadline", "batas waktunya kapan"),
        ("batas", "tenggat", "deadline", "kapan"),
    ),
    Intent(
        "posisi",
        ("sudah sampai mana", "sampai mana prosesnya", "bagaimana statusnya"),
        ("mana", "status", "posisi", "proses"),
    ),
)
THRESHOLD = 75
#: Short names offices use for their sections (matched against the section's name).
SECTION_ALIASES: dict[str, str] = {
    "trantib": "ketenteraman ketertiban",
    "kesos": "kesejahteraan sosial",
    "ekbang": "ekonomi pembangunan",
    "pmd": "pemberdayaan masyarakat desa",
    "pemdes": "pemberdayaan masyarakat desa",
    "pem": "pemerintahan",
    "umpeg": "umum kepegawaian",
    "renkeu": "perencanaan keuangan",
}
_NOISE = frozenset(
    {
        *("bagaimana", "gimana", "kabar", "seksi", "subbag", "subbagian", "kasi"),
        *("capaian", "berapa", "tw", "triwulan", "semester", "tahun"),
        *("apa", "yang", "di", "dan", "pak", "bu", "nya", "ya"),
    }
)


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split())


def _has_keyword(words: list[str], keywords: tuple[str, ...]) -> bool:
    for word in words:
        for kw in keywords:
            if word == kw or (len(word) >= 4 and fuzz.ratio(word, kw) >= 85):
                return True
    return False


def classify(text: str) -> str | None:
    """The intent of a question, or None when it is none the bot knows."""
    q = normalize(text)
    words = q.split()
    best, best_score = None, 0.0
    for intent in INTENTS:
        if not _has_keyword(words, intent.keywords):
            continue
        score = max(fuzz.token_set_ratio(p, q) for p in intent.phrases)
        if score > best_score:
            best, best_score = intent.name, score
    return best if best_score >= THRESHOLD else None


def find_period(text: str, default_year: int) -> Period | None:
    """The first period written anywhere in ``text`` ("capaian TW II?" → TW II)."""
    words = re.sub(r"[?!.,]", " ", text).split()
    for i in range(len(words)):
        for n in (3, 2):
            period = parse_period(" ".join(words[i : i + n]), default_year)
            if period is not None:
                return period
    return None


def match_section(text: str, sections: list[Section]) -> Section | None:
    """The section the question names (its short name, code or words of its name)."""
    words = [SECTION_ALIASES.get(w, w) for w in normalize(text).split() if w not in _NOISE]
    query = " ".join(words)
    if not query:
        return None
    choices = {
        s.id: normalize(re.sub(r"^(seksi|subbagian|subbag)\s+", "", s.nama, flags=re.I))
        for s in sections
    }
    for s in sections:
        if s.kode.casefold() in words:
            return s
    hit = process.extractOne(query, choices, scorer=fuzz.token_set_ratio, score_cutoff=THRESHOLD)
    if hit is None:
        return None
    return next(s for s in sections if s.id == hit[2])


def register(router: Router) -> None:
    router.free_text(on_free_text)


async def on_free_text(ctx: Ctx) -> bool:
    """Answer a head's plain question; others (and empty text) fall through."""
    assert ctx.person is not None and ctx.inbound is not None
    if ctx.person.role not in HEADS or not ctx.inbound.text.strip():
        return False
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    text = ctx.inbound.text[:300]
    intent = classify(text)
    sections = list(
        await ctx.session.scalars(select(Section).where(Section.office_id == office.id))
    )
    section = match_section(text, sections) if intent in ("seksi", "capaian") else None
    if intent is None:
        ctx.reply(texts.render("tanya/tidak_paham"))
        return True
    period = find_period(text, local_date(office, ctx.now).year)
    run = await _run_for(ctx, office, period)
    if run is None:
        ctx.reply(texts.render("tanya/tidak_ada_siklus", periode=period))
        return True
    if section is not None:
        await _section(ctx, run, section)
    elif intent == "belum_isi":
        await _unfilled(ctx, run)
    elif intent == "capaian":
        await _achievement(ctx, run)
    elif intent == "seksi":
        ctx.reply(texts.render("tanya/seksi_tidak_dikenal", seksi=sections))
    else:
        await _where(ctx, run)
    ctx.log("tanya.jawab", cycle_id=run.cycle.id, data={"maksud": intent, "teks": text[:120]})
    return True


async def _run_for(ctx: Ctx, office: Office, period: Period | None) -> Run | None:
    if period is None:
        return await latest(ctx, office.id)
    keys = [period.key] if period.kind == "TW" else [q.key for q in _quarters_of(period)][::-1]
    for key in keys:
        cycle_id = await ctx.session.scalar(
            select(Cycle.id).where(Cycle.office_id == office.id, Cycle.period_key == key)
        )
        if cycle_id:
            return await load(ctx, cycle_id)
    return None


def _quarters_of(period: Period) -> list[Period]:
    last = 2 if period.kind == "SEMESTER" and period.number == 1 else 4
    return [Period.quarter(period.year, n) for n in range(1, last + 1)]


async def _unfilled(ctx: Ctx, run: Run) -> None:
    rows = []
    for ws in await worksheets(ctx, run):
        if ws.status in COUNTED:
            continue
        person = await ctx.session.get(Person, ws.person_id)
        section = await ctx.session.get(Section, ws.section_id)
        assert person is not None and section is not None
        rows.append({"orang": person.nama, "seksi": section.nama, "status": ws.status})
    deadline = await deadline_of(ctx, run) if run.running else None
    ctx.reply(
        texts.render(
            "tanya/belum_isi",
            periode=run.period,
            baris=rows,
            ada_lembar=bool(await worksheets(ctx, run)),
            batas=deadline.due_at if deadline else None,
            tz=run.office.tz,
        )
    )


async def _achievement(ctx: Ctx, run: Run) -> None:
    summaries = await section_summaries(ctx, run)
    overall = average_capaian(s.rata_rata for s in summaries)
    ctx.reply(texts.render("tanya/capaian", periode=run.period, seksi=summaries, rata_rata=overall))


async def _section(ctx: Ctx, run: Run, section: Section) -> None:
    summaries = [s for s in await section_summaries(ctx, run) if s.seksi == section.nama]
    ctx.reply(texts.render("tanya/seksi", periode=run.period, nama=section.nama, seksi=summaries))


async def _where(ctx: Ctx, run: Run) -> None:
    deadline = await deadline_of(ctx, run) if run.running else None
    waiting = [a.person.nama for a in await waiting_on(ctx, run)] if run.running else []
    ctx.reply(
        texts.render(
            "tanya/batas",
            run=run,
            periode=run.period,
            langkah=run.step,
            pelaku=run.preset.actor_title(run.step.id),
            batas=deadline.due_at if deadline else None,
            terlambat=bool(deadline and ctx.now > deadline.due_at),
            menunggu=waiting,
            tz=run.office.tz,
        )
    )
