"""WhatsApp outbound: outbox jobs → Cloud API calls through pywa, within WhatsApp's limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from pywa.errors import WhatsAppError
from pywa.types import Button, Section, SectionList, SectionRow
from pywa.types.sent_update import SentMessage
from pywa.types.templates import TemplateLanguage
from pywa_async import WhatsApp

from flows.core import texts
from handlers.ports import DeliveryFailed, DeliveryJob, DeliveryRetry, split_text
from handlers.whatsapp.inbound import MORE_PREFIX, OPEN_PREFIX

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_BODY = 1024
MAX_BUTTON_TITLE = 20
MAX_ROW_TITLE = 24
MAX_ROWS = 10
MAX_PARAM = 900  # a template body parameter (no newlines allowed there)

WINDOW_CLOSED = 131047
THROUGHPUT = (130429, 131056, 4, 80007)
APPROVAL = "persetujuan"  # the template key of approval requests
FOR_GOOD = (131026, 131030, 131051, 131031, 130497, 100, 131008, 131009)


class _Rewrite(httpx.AsyncBaseTransport):
    """Send pywa's requests for graph.facebook.com to another origin (the emulator)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname or "", parts.port
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "graph.facebook.com":
            request.url = request.url.copy_with(scheme=self.scheme, host=self.host, port=self.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def graph_client(base_url: str = "") -> httpx.AsyncClient:
    """The httpx client pywa uses; ``base_url`` points it at another Graph API (the emulator)."""
    transport = _Rewrite(base_url) if base_url else None
    return httpx.AsyncClient(transport=transport, timeout=30)


def build_client(
    phone_id: str, token: str, base_url: str = "", session: httpx.AsyncClient | None = None
) -> WhatsApp:
    """A pywa client that only sends (the webhook is ours, not pywa's server).

    Pass ``session`` to own its lifetime (the caller closes it on shutdown).
    """
    return WhatsApp(phone_id=phone_id, token=token, session=session or graph_client(base_url))


def cut_titles(labels: list[str], limit: int) -> list[str]:
    """Titles cut cleanly (at a word when possible) to ``limit`` and still unique."""
    out: list[str] = []
    for label in labels:
        title = label.strip()
        if len(title) > limit:
            head = title[: limit - 1]
            head = head.rsplit(" ", 1)[0] if " " in head[limit // 2 :] else head
            title = head.rstrip() + "…"
        n = 2
        base = title
        while title in out:
            suffix = f" {n}"
            title = base[: limit - len(suffix)].rstrip() + suffix
            n += 1
        out.append(title)
    return out


def flatten(text: str, limit: int = MAX_PARAM) -> str:
    """A template parameter: one line, no runs of spaces, at most ``limit`` characters."""
    one = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    one = " ".join(one.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


@dataclass
class TemplateNames:
    """Template names per intent key (settings), and their language."""

    language: str = "id"
    names: dict[str, str] = field(default_factory=dict)
    generic: str = "kinerja_pemberitahuan"

    def name(self, key: str) -> str:
        return self.names.get(key) or self.generic


class WhatsAppSender:
    """Sends outbox jobs to WhatsApp; maps Cloud API errors to retry / give up / template."""

    def __init__(self, client: WhatsApp, templates: TemplateNames | None = None) -> None:
        self.wa = client
        self.templates = templates or TemplateNames()

    async def send(self, job: DeliveryJob) -> str:
        try:
            return await self._send(job)
        except WhatsAppError as exc:
            if exc.code == WINDOW_CLOSED:
                return await self._guarded(self._template, job)
            raise _mapped(exc) from exc
        except httpx.HTTPError as exc:
            raise DeliveryRetry(None) from exc

    async def _guarded(self, send, job: DeliveryJob) -> str:  # noqa: ANN001
        try:
            return await send(job)
        except WhatsAppError as exc:
            raise _mapped(exc) from exc
        except httpx.HTTPError as exc:
            raise DeliveryRetry(None) from exc

    async def _send(self, job: DeliveryJob) -> str:
        to = job.address
        if job.edit_message_id:  # no edits on WhatsApp: a short notice, or nothing
            if not job.edit_notice:
                return job.edit_message_id
            return await self._text(to, job.edit_notice)
        if job.document is not None:
            name, content = job.document
            sent: SentMessage = await self.wa.send_document(
                to, document=content, filename=name, caption=job.text[:MAX_BODY] or None
            )
            return sent.id
        choices = job.choices
        if not choices:
            return await self._text(to, job.text)
        body = job.text
        if len(body) > MAX_BODY:  # the long text first, then a short card with the choices
            await self._text(to, body)
            body = texts.render("wa/pilih")
        if len(choices) <= 3:
            titles = cut_titles([c["label"] for c in choices], MAX_BUTTON_TITLE)
            sent = await self.wa.send_message(
                to,
                body,
                buttons=[
                    Button(title=t, callback_data=c["token"])
                    for t, c in zip(titles, choices, strict=True)
                ],
            )
            return sent.id
        return await self.send_page(to, body, choices, job.outbox_id, 0)

    async def send_page(
        self, to: str, body: str, choices: list[dict[str, str]], outbox_id: int, start: int
    ) -> str:
        """One page of a list message: up to 10 rows, the last one "Berikutnya" if more."""
        rest = choices[start:]
        page = rest if len(rest) <= MAX_ROWS else rest[: MAX_ROWS - 1]
        titles = cut_titles([c["label"] for c in page], MAX_ROW_TITLE)
        rows = [
            SectionRow(title=t, callback_data=c["token"]) for t, c in zip(titles, page, strict=True)
        ]
        if len(page) < len(rest):
            rows.append(
                SectionRow(
                    title=texts.label("berikutnya"),
                    callback_data=f"{MORE_PREFIX}{outbox_id}:{start + len(page)}",
                )
            )
        sent = await self.wa.send_message(
            to,
            body,
            buttons=SectionList(
                button_title=texts.label("pilihan")[:MAX_BUTTON_TITLE],
                sections=[Section(title=texts.label("pilihan")[:MAX_ROW_TITLE], rows=rows)],
            ),
        )
        return sent.id

    async def _text(self, to: str, text: str) -> str:
        msg_id = ""
        for part in split_text(text, MAX_TEXT):
            msg_id = (await self.wa.send_message(to, part)).id
        return msg_id

    async def _template(self, job: DeliveryJob) -> str:
        """Outside the 24-hour window: an approved template whose quick replies stand for the
        card's buttons (see :meth:`quick_replies`)."""
        key = job.template.key if job.template else ""
        params = (job.template.params if job.template else []) or [flatten(job.text)]
        key, payloads = self.quick_replies(key, job)
        components: list[dict] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": flatten(p)} for p in params],
            }
        ]
        components += [
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(i),
                "parameters": [{"type": "payload", "payload": payload}],
            }
            for i, payload in enumerate(payloads)
        ]
        name = self.templates.name(key)
        sent = await self.wa.send_template(
            job.address,
            name=name,
            language=TemplateLanguage(self.templates.language),
            params=components,
        )
        log.info("outbox %s sent as template %s", job.outbox_id, name)
        return sent.id

    @staticmethod
    def quick_replies(key: str, job: DeliveryJob) -> tuple[str, list[str]]:
        """The template key and its quick-reply payloads, in the template's button order.

        An approval card (a "Setujui" button) goes as the ``persetujuan`` template: "Setujui"
        acts as the card's Setujui, "Lihat" opens the whole card. Any other card has one
        "Buka" quick reply: it acts as the card's button when there is exactly one, else it
        opens the whole card (the person wrote, so the window is open again).
        """
        choices = job.choices
        opener = f"{OPEN_PREFIX}{job.outbox_id}"
        approve = [c for c in choices if c["label"] == texts.label("setujui")]
        if approve:
            return APPROVAL, [approve[0]["token"], opener]
        return key, [choices[0]["token"] if len(choices) == 1 else opener]


def _mapped(exc: WhatsAppError) -> Exception:
    """Throughput → retry later; everything else the Cloud API refuses → failed, said why."""
    if exc.code in THROUGHPUT:
        return DeliveryRetry(None)
    reason = f"WhatsApp error {exc.code}: {exc.message}"
    return DeliveryFailed(reason)
