"""A small local Telegram Bot API emulator for end-to-end tests and the offline demo.

The emulator is an :mod:`aiohttp.web` server running on the caller's asyncio loop. A real
python-telegram-bot process talks to it through ``base_url=emu.base_url`` and
``base_file_url=emu.base_file_url``; tests drive the "user" side synchronously
(``user_sends_text``, ``user_taps`` ...) and inspect / await what the bot sent.

Wire format follows the real Bot API: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "..."}`` with the matching HTTP status.
Parameters are accepted as JSON bodies, url-encoded forms, multipart forms (what
python-telegram-bot's ``HTTPXRequest`` sends: strings verbatim, everything else JSON-encoded)
and query strings.

Nothing is created at import time; all state lives in :class:`BotApiEmulator` instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

__all__ = [
    "ApiCall",
    "BotApiEmulator",
    "CallbackAnswer",
    "EmulatorError",
    "SentMessage",
    "StoredFile",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

# How form-encoded parameters are decoded (PTB JSON-encodes every non-string value).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "allowed_updates",
        "media",
        "menu_button",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "from_chat_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    }
)

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]+)?")
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{1,8});")
_HTML_ATTR_RE = re.compile(r"""([a-zA-Z_-]+)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_INLINE_ACTION_FIELDS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)

Predicate = Callable[["SentMessage"], bool] | str | re.Pattern[str] | None


class EmulatorError(AssertionError):
    """Raised by the user-side helpers and waits (an AssertionError, so pytest shows it)."""


class _ApiError(Exception):
    """An API error answered to the bot as ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


#: A fault to inject: ("429", seconds) | ("5xx", status) | ("timeout", seconds) | ("drop", 0).
Fault = tuple[str, float]
#: Decides per call (method name, raw parameters) whether it fails, and how.
FaultHook = Callable[[str, dict[str, Any]], Fault | None]


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass
class SentMessage:
    """A message the bot sent, in its current (possibly edited) state."""

    chat_id: int
    message_id: int
    kind: str  # "text" | "document" | "photo"
    text: str  # visible text (HTML tags stripped) or caption ("" when none)
    raw_text: str  # text/caption exactly as the bot sent it
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: list[list[tuple[str, str | None]]]  # inline keyboard: (text, callback_data)
    raw_reply_markup: dict[str, Any] | None  # any markup as sent (also reply keyboards)
    date: int
    file_name: str | None = None
    file_bytes: bytes | None = None
    mime_type: str | None = None
    file_id: str | None = None
    reply_to_message_id: int | None = None
    edited: bool = False
    edit_count: int = 0
    deleted: bool = False
    seq: int = 0  # per-chat event number of the last change (compare with mark())
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons flattened row by row as (text, callback_data or None)."""
        return [button for row in self.reply_markup for button in row]

    @property
    def caption(self) -> str | None:
        """The caption of a document/photo message (``None`` for text messages)."""
        return None if self.kind == "text" else self.text

    @property
    def reply_keyboard(self) -> list[list[str]]:
        """Button texts of a ReplyKeyboardMarkup sent with this message, if any."""
        markup = self.raw_reply_markup or {}
        rows = markup.get("keyboard") or []
        return [[b if isinstance(b, str) else str(b.get("text", "")) for b in r] for r in rows]

    def render(self) -> str:
        """A one-or-more line human readable rendering (used by transcripts)."""
        head = f"bot #{self.message_id}"
        if self.edited:
            head += " (edited)"
        if self.deleted:
            head += " (deleted)"
        if self.kind == "text":
            body = self.text
        else:
            size = len(self.file_bytes or b"")
            body = f"[{self.kind} {self.file_name or ''} {size} bytes]".replace("  ", " ")
            if self.text:
                body += f" {self.text}"
        lines = [f"{head}: {_indent(body)}"]
        for row in self.reply_markup:
            cells = " ".join(f"[{t} -> {d}]" for t, d in row)
            lines.append(f"    {cells}")
        if self.reply_keyboard:
            for keys in self.reply_keyboard:
                lines.append("    keyboard: " + " ".join(f"[{t}]" for t in keys))
        return "\n".join(lines)


@dataclass(frozen=True)
class CallbackAnswer:
    """One answerCallbackQuery call."""

    query_id: str
    update_id: int
    user_id: int
    message_id: int
    data: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class ApiCall:
    """One request the bot made (successful or not)."""

    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None = None
    description: str | None = None
    result: Any = None
    files: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


@dataclass
class StoredFile:
    """A file known to the emulator (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None
    mime_type: str | None
    kind: str  # "document" | "photo"

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "id"
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def as_chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class _Chat:
    user: _User
    next_message_id: int = 1
    seq: int = 0
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # every message, raw
    bot_messages: dict[int, SentMessage] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.user.id

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


class _Signal:
    """A loop-agnostic "something changed" broadcast; ``notify`` is synchronous."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        """Wait until the next notify() or until ``timeout`` seconds passed."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)


def _u16(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def _parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML like the Bot API does: (plain text, entities).

    Raises 400 "can't parse entities" errors for unsupported or unbalanced tags and for a bare
    ``<``, as Telegram does.
    """

    def fail(message: str) -> _ApiError:
        return _bad(f"can't parse entities: {message}")

    def byte_offset(index: int) -> int:
        return len(src[:index].encode())

    out: list[str] = []
    pos16 = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        char = src[i]
        if char == "<" and i + 1 < n and src[i + 1] == "/":
            j = i + 2
            while j < n and (src[j].isascii() and (src[j].isalnum() or src[j] == "-")):
                j += 1
            name = src[i + 2 : j].lower()
            while j < n and src[j].isspace():
                j += 1
            if j >= n or src[j] != ">":
                raise fail(f"Unclosed end tag at byte offset {byte_offset(i)}")
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte_offset(i)}")
            open_name, start, attrs = stack.pop()
            if name != open_name:
                raise fail(
                    f"Unmatched end tag at byte offset {byte_offset(i)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            entity = _html_entity(open_name, start, pos16 - start, attrs)
            if entity is not None:
                entities.append(entity)
            i = j + 1
        elif char == "<":
            j = i + 1
            while j < n and not src[j].isspace() and src[j] != ">":
                j += 1
            if j >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(i)}")
            name = src[i + 1 : j].lower()
            if name not in _HTML_TAG_TYPES:
                raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(i)}')
            k, quote = j, ""
            while k < n and (quote or src[k] != ">"):
                if quote and src[k] == quote:
                    quote = ""
                elif not quote and src[k] in "\"'":
                    quote = src[k]
                k += 1
            if k >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(i)}")
            attrs = {
                m.group(1).lower(): html.unescape((m.group(2) or "").strip("\"'"))
                for m in _HTML_ATTR_RE.finditer(src[j:k])
            }
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise fail('Tag "span" must have class "tg-spoiler"')
            stack.append((name, pos16, attrs))
            i = k + 1
        elif char == "&" and (m := _HTML_ENTITY_RE.match(src, i)):
            ref = m.group(1)
            if ref.startswith("#"):
                code = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
                decoded = chr(code) if 0 < code <= 0x10FFFF else None
            else:
                decoded = _NAMED_HTML_ENTITIES.get(ref.lower())
            if decoded is None:
                out.append("&")
                pos16 += 1
                i += 1
            else:
                out.append(decoded)
                pos16 += _u16(decoded)
                i = m.end()
        else:
            out.append(char)
            pos16 += _u16(char)
            i += 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_entity(tag: str, offset: int, length: int, attrs: dict[str, str]) -> dict | None:
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": _HTML_TAG_TYPES[tag], "offset": offset, "length": length}
    if tag == "a":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "0")
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _render_text(
    text: str, parse_mode: str | None, entities: Any = None
) -> tuple[str, list[dict[str, Any]]]:
    """Apply parse_mode / explicit entities the way Telegram does (HTML fully, Markdown no-op)."""
    if isinstance(entities, list):
        return text, entities
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode in ("", "markdown", "markdownv2"):
        return text, []
    raise _bad(f"unsupported parse_mode {parse_mode!r}")


def _check_text(text: Any, parse_mode: Any, entities: Any) -> tuple[str, str, list]:
    if not isinstance(text, str) or not text:
        raise _bad("message text is empty")
    plain, ents = _render_text(text, parse_mode, entities)
    if not plain.strip():
        raise _bad("message text is empty")
    if len(plain) > MAX_TEXT_LENGTH:
        raise _bad("message is too long")
    return text, plain, ents


def _check_caption(caption: Any, parse_mode: Any, entities: Any) -> tuple[str, str, list]:
    if caption is None or caption == "":
        return "", "", []
    plain, ents = _render_text(str(caption), parse_mode, entities)
    if len(plain) > MAX_CAPTION_LENGTH:
        raise _bad("message caption is too long")
    return str(caption), plain, ents


def _parse_markup(
    markup: Any,
) -> tuple[dict[str, Any] | None, list[list[tuple[str, str | None]]], dict[str, Any] | None]:
    """Validate reply_markup: (inline markup echoed in Message, inline rows, raw markup)."""
    if markup is None:
        return None, [], None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise _bad("can't parse reply keyboard markup JSON object")
        return None, [], markup
    keyboard = markup["inline_keyboard"]
    if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
        raise _bad('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array')
    rows: list[list[tuple[str, str | None]]] = []
    for row in keyboard:
        parsed_row: list[tuple[str, str | None]] = []
        for button in row:
            if not isinstance(button, dict):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _bad("can't parse inline keyboard button: Text must be non-empty")
            if not any(k in button for k in _INLINE_ACTION_FIELDS):
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None:
                data = str(data)
                if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
            parsed_row.append((text, data))
        if parsed_row:
            rows.append(parsed_row)
    echo = {"inline_keyboard": keyboard} if rows else None
    return echo, rows, markup


def _normalize(params: dict[str, Any]) -> dict[str, Any]:
    """Decode form-encoded values into the types a JSON body would carry."""
    result: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise _bad(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS:
                try:
                    value = int(value)
                except ValueError:
                    with contextlib.suppress(ValueError):  # e.g. chat_id="@channel" stays
                        value = float(value)
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
        result[key] = value
    return result


def _message_matches(message: SentMessage, predicate: Predicate) -> bool:
    if predicate is None:
        return True
    if isinstance(predicate, str):
        return predicate in message.text
    if isinstance(predicate, re.Pattern):
        return predicate.search(message.text) is not None
    return bool(predicate(message))


def _describe(predicate: Predicate) -> str:
    if predicate is None:
        return "any message"
    if isinstance(predicate, str):
        return f"text containing {predicate!r}"
    if isinstance(predicate, re.Pattern):
        return f"text matching /{predicate.pattern}/"
    return getattr(predicate, "__name__", repr(predicate))


MethodHandler = Callable[[dict[str, Any], dict[str, _Upload]], Any]


def _update_chat(update: dict[str, Any]) -> int:
    """The chat an update belongs to (0 when it has none)."""
    for key in ("message", "edited_message"):
        if isinstance(update.get(key), dict):
            return int(update[key].get("chat", {}).get("id", 0))
    query = update.get("callback_query")
    if isinstance(query, dict):
        return int(query.get("from", {}).get("id", 0))
    return 0


class BotApiEmulator:
    """In-process Telegram Bot API emulator (one bot, private chats only).

    Typical use::

        emu = BotApiEmulator(token="123:ABC", bot_username="kinerja_test_bot")
        await emu.start()                       # 127.0.0.1, free port
        # run the bot with base_url=emu.base_url, base_file_url=emu.base_file_url
        marker = emu.mark(42)
        emu.user_sends_text(42, "/start", first_name="Budi")
        msg = await emu.wait_for_message(42, "Selamat", after=marker)
        emu.user_taps(42, msg.message_id, msg.buttons[0][1])
        await emu.stop()
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "kinerja_test_bot",
        bot_first_name: str = "Kinerja Bot",
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1_000_000
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[ApiCall] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # scope key -> BotCommand dicts
        self.files: dict[str, StoredFile] = {}
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._chats: dict[int, _Chat] = {}
        self._updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._next_update_id = 1
        self._next_file_no = 1
        self._open_queries: dict[str, tuple[int, int, int, str]] = {}  # id -> upd,user,msg,data
        self._files_by_path: dict[str, StoredFile] = {}
        self._poll_generation = 0
        self._active_polls = 0
        self._closing = False
        self._signal = _Signal()
        self._runner: web.AppRunner | None = None
        self.webhook_url = ""
        self._webhook_secret = ""
        self._webhook_task: asyncio.Task[None] | None = None
        self.webhook_posts = 0
        #: Simultaneous webhook POSTs (Telegram's ``max_connections``; 1 keeps global order).
        #: Never two at once for one chat, so each chat's updates still arrive in order.
        self.webhook_connections = 1
        self._webhook_busy: set[int] = set()  # chats with an update being POSTed
        #: Test hook: called with each method name; a Fault return makes that call fail.
        self.fault: FaultHook | None = None
        self.faults_injected: list[tuple[str, str]] = []
        self._methods: dict[str, MethodHandler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "getFile": self._get_file,
                "sendChatAction": self._return_true,
                "setMyDescription": self._return_true,
                "setMyShortDescription": self._return_true,
                "setMyName": self._return_true,
                "setChatMenuButton": self._return_true,
                "close": self._return_true,
                "logOut": self._return_true,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving on ``host:port`` (port 0 picks a free port, see ``self.port``)."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        self._closing = False
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host = host
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered with an empty list immediately."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._signal.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``base_url`` for ``telegram.Bot`` / ``ApplicationBuilder.base_url``."""
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        """``base_file_url`` for ``telegram.Bot`` / ``ApplicationBuilder.base_file_url``."""
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ user side

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
    ) -> None:
        """Register (or update) a user whose private chat with the bot exists."""
        self._user_chat(user_id, first_name, last_name, username, language_code)

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Make sends to this user fail with 403 "Forbidden: bot was blocked by the user"."""
        self._user_chat(user_id).user.blocked = blocked

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue an arbitrary update (without ``update_id``); returns the update id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **copy.deepcopy(payload)})
        self._signal.notify()
        return update_id

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """The user sends a text message (``/cmd`` gets a bot_command entity); returns update id."""
        content: dict[str, Any] = {"text": text}
        command = _COMMAND_RE.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _u16(command.group(0))}
            ]
        return self._user_message(
            user_id, content, _indent(text), first_name, last_name, username, reply_to_message_id
        )

    def user_sends_photo(
        self,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        *,
        width: int = 1280,
        height: int = 960,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> int:
        """The user sends a photo (one PhotoSize; bytes downloadable via getFile)."""
        stored = self._store_file(bytes(data), None, "image/jpeg", "photo")
        content: dict[str, Any] = {"photo": [self._photo_size(stored, width, height)]}
        if caption:
            content["caption"] = caption
        summary = f"[photo {len(stored.data)} bytes]" + (f" {caption}" if caption else "")
        return self._user_message(user_id, content, summary, first_name, last_name, username)

    def user_sends_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> int:
        """The user sends a document (bytes downloadable via getFile)."""
        stored = self._store_file(bytes(data), file_name, mime_type, "document")
        content: dict[str, Any] = {"document": self._document(stored)}
        if caption:
            content["caption"] = caption
        summary = f"[document {file_name} {len(stored.data)} bytes]"
        if caption:
            summary += f" {caption}"
        return self._user_message(user_id, content, summary, first_name, last_name, username)

    def user_taps(self, user_id: int, message_id: int, callback_data: str) -> int:
        """The user taps the inline button with ``callback_data`` on a bot message."""
        chat = self._chats.get(user_id)
        message = chat.bot_messages.get(message_id) if chat else None
        if chat is None or message is None or message.deleted:
            raise EmulatorError(
                f"chat {user_id} has no (undeleted) bot message #{message_id}\n"
                + self.transcript(user_id)
            )
        labels = [t for t, d in message.buttons if d == callback_data]
        if not labels:
            raise EmulatorError(
                f"bot message #{message_id} in chat {user_id} has no button with callback_data "
                f"{callback_data!r}; buttons: {message.buttons}\n" + self.transcript(user_id)
            )
        update_id = self._next_update_id
        query_id = str(9_000_000_000_000 + update_id)
        self._open_queries[query_id] = (update_id, user_id, message_id, callback_data)
        chat.events.append(f"user taps #{message_id} [{labels[0]}] ({callback_data})")
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": chat.user.as_user(),
                    "message": message.raw,
                    "chat_instance": str(7_000_000_000 + user_id),
                    "data": callback_data,
                }
            }
        )

    def user_taps_button(self, user_id: int, text: str) -> int:
        """Tap the callback button labelled ``text`` on the latest bot message that has it."""
        found = self.find_button(user_id, text)
        if found is None:
            raise EmulatorError(
                f"no bot message in chat {user_id} has a callback button {text!r}\n"
                + self.transcript(user_id)
            )
        message, data = found
        return self.user_taps(user_id, message.message_id, data)

    # ------------------------------------------------------------------ inspection

    @property
    def chat_ids(self) -> list[int]:
        return list(self._chats)

    @property
    def polls_started(self) -> int:
        """How many getUpdates requests have arrived so far (answered or still waiting)."""
        return self._poll_generation

    @property
    def active_polls(self) -> int:
        """Number of getUpdates requests currently being served (e.g. waiting long polls)."""
        return self._active_polls

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed by the bot (via a higher getUpdates offset)."""
        return copy.deepcopy(self._updates)

    def chat_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in this chat, oldest first, in their current state."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.bot_messages.values() if include_deleted or not m.deleted]

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The bot's most recently *sent* (not edited) undeleted message in this chat."""
        messages = self.chat_messages(chat_id)
        return messages[-1] if messages else None

    @staticmethod
    def buttons(message: SentMessage) -> list[tuple[str, str | None]]:
        """Inline buttons of ``message`` as (text, callback_data) pairs."""
        return message.buttons

    def find_button(self, chat_id: int, text: str) -> tuple[SentMessage, str] | None:
        """Latest bot message with a callback button labelled ``text``: (message, data).

        Exact (whitespace-stripped) label matches win; otherwise a case-insensitive substring.
        """
        messages = list(reversed(self.chat_messages(chat_id)))
        wanted = text.strip()
        for exact in (True, False):
            for message in messages:
                for label, data in message.buttons:
                    if data is None:
                        continue
                    if (
                        (label.strip() == wanted)
                        if exact
                        else (wanted.casefold() in label.casefold())
                    ):
                        return message, data
        return None

    def mark(self, chat_id: int) -> int:
        """Current event number of the chat; pass it as ``after=`` to wait for newer changes."""
        chat = self._chats.get(chat_id)
        return chat.seq if chat else 0

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    @property
    def unknown_calls(self) -> list[ApiCall]:
        """Calls to methods the emulator does not implement (answered 404)."""
        return [c for c in self.calls if c.error_code == 404]

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    def transcript(self, chat_id: int) -> str:
        """Chronological text rendering of a chat (user actions, bot sends/edits/answers)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.events:
            return f"(chat {chat_id}: no messages)"
        return f"--- chat {chat_id} ---\n" + "\n".join(chat.events)

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        condition: Callable[[], Any],
        timeout: float = 15.0,
        description: str = "condition",
        chat_id: int | None = None,
    ) -> Any:
        """Wait (re-checking after every emulator event) until ``condition()`` is truthy."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                details = self.transcript(chat_id) if chat_id is not None else self._summary()
                raise EmulatorError(
                    f"timed out after {timeout}s waiting for {description}\n{details}"
                )
            await self._signal.wait(remaining)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Predicate = None,
        timeout: float = 15.0,
        after: int | None = None,
    ) -> SentMessage:
        """Wait for a bot message (new or edited after marker ``after``) matching ``predicate``.

        ``predicate`` is a callable on :class:`SentMessage`, a substring of the text, a compiled
        regex, or ``None`` (any). ``after=None`` also considers messages already present.
        Returns the earliest matching change.
        """

        def find() -> SentMessage | None:
            candidates = [m for m in self.chat_messages(chat_id) if after is None or m.seq > after]
            candidates.sort(key=lambda m: m.seq)
            for message in candidates:
                if _message_matches(message, predicate):
                    return message
            return None

        return await self.wait_for(
            find,
            timeout,
            f"a bot message in chat {chat_id} after marker {after} with {_describe(predicate)}",
            chat_id,
        )

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 15.0,
        after: int | None = None,
    ) -> ApiCall:
        """Wait for a call of ``method``; ``after`` is an index into ``calls`` (``len(calls)``)."""

        def find() -> ApiCall | None:
            for call in self.calls[after or 0 :]:
                if call.method.lower() == method.lower() and (predicate is None or predicate(call)):
                    return call
            return None

        return await self.wait_for(find, timeout, f"a {method} call")

    async def wait_for_callback_answer(
        self, update_id: int, timeout: float = 15.0
    ) -> CallbackAnswer:
        """Wait until the callback query created by ``user_taps`` (its update id) is answered."""

        def find() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers if a.update_id == update_id), None)

        return await self.wait_for(find, timeout, f"an answer to callback update {update_id}")

    async def wait_for_updates_consumed(self, timeout: float = 15.0) -> None:
        """Wait until the bot confirmed (via getUpdates offset) every queued update."""
        await self.wait_for(
            lambda: not self._updates,
            timeout,
            f"the bot to confirm updates {[u['update_id'] for u in self._updates]}",
        )

    def _summary(self) -> str:
        return "\n".join(self.transcript(chat_id) for chat_id in self._chats) or "(no chats)"

    # ------------------------------------------------------------------ internals: state

    def _user_chat(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> _Chat:
        chat = self._chats.get(user_id)
        if chat is None:
            user = _User(user_id, first_name or f"User{user_id}", last_name, username)
            if language_code is not None:
                user.language_code = language_code
            chat = self._chats[user_id] = _Chat(user)
            return chat
        user = chat.user
        if first_name is not None:
            user.first_name = first_name
        if last_name is not None:
            user.last_name = last_name
        if username is not None:
            user.username = username
        if language_code is not None:
            user.language_code = language_code
        return chat

    def _user_message(
        self,
        user_id: int,
        content: dict[str, Any],
        summary: str,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        reply_to_message_id: int | None = None,
    ) -> int:
        chat = self._user_chat(user_id, first_name, last_name, username)
        message_id = chat.take_message_id()
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": chat.user.as_user(),
            "chat": chat.user.as_chat(),
            "date": int(time.time()),
            **content,
        }
        if reply_to_message_id is not None and reply_to_message_id in chat.messages:
            message["reply_to_message"] = copy.deepcopy(chat.messages[reply_to_message_id])
        chat.messages[message_id] = message
        chat.events.append(f"user #{message_id}: {summary}")
        return self.push_update({"message": message})

    def _store_file(
        self, data: bytes, file_name: str | None, mime_type: str | None, kind: str
    ) -> StoredFile:
        number = self._next_file_no
        self._next_file_no += 1
        if kind == "photo":
            file_id = f"AgACAgUAAxkBAAE{number:08d}"
            path = f"photos/file_{number}.jpg"
        else:
            file_id = f"BQACAgUAAxkBAAE{number:08d}"
            suffix = PurePosixPath(file_name or "").suffix
            suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""
            path = f"documents/file_{number}{suffix}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AgAD{number:06d}",
            file_path=path,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            kind=kind,
        )
        self.files[file_id] = stored
        self._files_by_path[path] = stored
        return stored

    @staticmethod
    def _photo_size(stored: StoredFile, width: int = 1280, height: int = 960) -> dict[str, Any]:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }

    @staticmethod
    def _document(stored: StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    # ------------------------------------------------------------------ internals: HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = ApiCall(method=method, params={}, ok=False)
        try:
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            raw, uploads = await self._read_params(request)
            fault = self.fault(method, raw) if self.fault is not None else None
            if fault is not None:
                await self._inject(method, fault, request)
            call.params = raw
            call.files = {k: (u.filename, len(u.data)) for k, u in uploads.items()}
            params = call.params = _normalize(raw)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise _ApiError(404, f"Not Found: method {method}")
            result = await handler(params, uploads)
        except _ApiError as exc:
            call.error_code, call.description = exc.code, exc.description
            self.calls.append(call)
            self._signal.notify()
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        call.ok, call.result = True, result
        self.calls.append(call)
        self._signal.notify()
        return web.json_response({"ok": True, "result": result})

    async def _inject(self, method: str, fault: Fault, request: web.Request) -> None:
        """Fail this call as Telegram or the network might (the call has no effect)."""
        kind, value = fault
        self.faults_injected.append((method, kind))
        if kind == "429":
            seconds = max(1, int(value))
            raise _ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        if kind == "5xx":
            raise _ApiError(int(value) or 502, "Bad Gateway")
        if kind == "timeout":
            await asyncio.sleep(value)  # longer than the client waits: it times out
            raise _ApiError(504, "Gateway Timeout")
        transport = request.transport
        if transport is not None:  # "drop": hang up without an answer
            transport.abort()
        raise _ApiError(502, "connection dropped")

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if not request.can_read_body:
            return params, uploads
        content_type = request.content_type
        if content_type == "application/json":
            body = await request.read()
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError as exc:
                    raise _bad("can't parse JSON request body") from exc
                if not isinstance(data, dict):
                    raise _bad("request body must be a JSON object")
                params.update(data)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = _Upload(value.filename, value.content_type, value.file.read())
                elif isinstance(value, bytes | bytearray):
                    params[key] = bytes(value).decode("utf-8", "replace")
                else:
                    params[key] = value
        else:
            await request.read()
        return params, uploads

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ------------------------------------------------------------------ internals: methods

    async def _return_true(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self.bot_user

    def _confirm(self, offset: Any) -> None:
        if not isinstance(offset, int) or isinstance(offset, bool):
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    async def _get_updates(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(params.get("offset"))
        limit = params.get("limit") or 100
        limit = max(1, min(100, int(limit))) if isinstance(limit, int | float) else 100
        timeout = params.get("timeout") or 0
        timeout = max(0.0, float(timeout)) if isinstance(timeout, int | float) else 0.0
        self._poll_generation += 1
        generation = self._poll_generation
        self._active_polls += 1
        self._signal.notify()  # confirmations changed state; older polls must end (409)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                if self._closing:
                    return []
                if generation != self._poll_generation:
                    raise _ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                if self._updates:
                    return copy.deepcopy(self._updates[:limit])
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._signal.wait(remaining)
        finally:
            self._active_polls -= 1

    async def _delete_webhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = ""
        self._signal.notify()
        return True

    async def _set_webhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        """Deliver updates by POSTing them to ``url`` (as Telegram does), one at a time."""
        url = str(params.get("url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = str(params.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url, self._webhook_secret = url, secret
        if url and self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._push_webhook(), name="emulator-webhook")
        self._signal.notify()
        return True

    async def _push_webhook(self) -> None:
        """POST queued updates in order (``webhook_connections`` at a time, one per chat); an
        update leaves the queue only on a 2xx answer."""
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            pushers = [
                asyncio.create_task(self._push_loop(http), name=f"emulator-webhook-{i}")
                for i in range(max(1, self.webhook_connections))
            ]
            try:
                await asyncio.gather(*pushers)
            finally:
                for task in pushers:
                    task.cancel()
                await asyncio.gather(*pushers, return_exceptions=True)

    def _next_webhook_update(self) -> dict[str, Any] | None:
        """The oldest queued update whose chat has none in flight."""
        blocked: set[int] = set()
        for update in self._updates:
            chat = _update_chat(update)
            if chat not in self._webhook_busy and chat not in blocked:
                return update
            blocked.add(chat)
        return None

    async def _push_loop(self, http: ClientSession) -> None:
        while not self._closing:
            update = self._next_webhook_update() if self.webhook_url else None
            if update is None:
                await self._signal.wait(1.0)
                continue
            chat = _update_chat(update)
            self._webhook_busy.add(chat)
            headers = {}
            if self._webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook_secret
            try:
                async with http.post(self.webhook_url, json=update, headers=headers) as resp:
                    ok = 200 <= resp.status < 300
            except (ClientError, TimeoutError):
                ok = False
            finally:
                self._webhook_busy.discard(chat)
            if ok and any(u is update for u in self._updates):
                self._updates = [u for u in self._updates if u is not update]
                self.webhook_posts += 1
                self._signal.notify()
            elif not ok:
                await self._signal.wait(0.2)

    async def _get_webhook_info(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        pending = len(self._updates)
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        key = json.dumps(scope, sort_keys=True) if isinstance(scope, dict) else str(scope)
        language = params.get("language_code") or ""
        return key if not language else f"{key}|{language}"

    async def _set_my_commands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad('parameter "commands" is required')
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.commands.pop(self._scope_key(params), None)
        return True

    async def _get_my_commands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self.commands.get(self._scope_key(params), [])

    def _chat_for_send(self, params: dict[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad("chat not found")
        if chat.user.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _reply_target(self, chat: _Chat, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        target = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            target = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if target is None:
            return None
        if target not in chat.messages:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return int(target)

    def _new_bot_message(
        self,
        chat: _Chat,
        kind: str,
        raw_text: str,
        plain: str,
        entities: list[dict[str, Any]],
        params: dict[str, Any],
        content: dict[str, Any],
        stored: StoredFile | None = None,
    ) -> dict[str, Any]:
        echo, rows, raw_markup = _parse_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        message_id = chat.take_message_id()
        raw: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat.user.as_chat(),
            "date": int(time.time()),
            **content,
        }
        text_key = "text" if kind == "text" else "caption"
        entities_key = "entities" if kind == "text" else "caption_entities"
        if plain:
            raw[text_key] = plain
            if entities:
                raw[entities_key] = entities
        if reply_to is not None:
            raw["reply_to_message"] = copy.deepcopy(chat.messages[reply_to])
        if echo is not None:
            raw["reply_markup"] = echo
        chat.seq += 1
        sent = SentMessage(
            chat_id=chat.id,
            message_id=message_id,
            kind=kind,
            text=plain,
            raw_text=raw_text,
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=rows,
            raw_reply_markup=raw_markup,
            date=raw["date"],
            file_name=stored.file_name if stored else None,
            file_bytes=stored.data if stored else None,
            mime_type=stored.mime_type if stored else None,
            file_id=stored.file_id if stored else None,
            reply_to_message_id=reply_to,
            seq=chat.seq,
            raw=raw,
        )
        chat.messages[message_id] = raw
        chat.bot_messages[message_id] = sent
        chat.events.append(sent.render())
        return raw

    async def _send_message(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        raw_text, plain, entities = _check_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        return self._new_bot_message(chat, "text", raw_text, plain, entities, params, {})

    def _upload_or_existing(
        self, params: dict[str, Any], uploads: dict[str, _Upload], name: str, kind: str
    ) -> StoredFile:
        value = params.get(name)
        upload = uploads.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            mime = upload.content_type or ("image/jpeg" if kind == "photo" else None)
            return self._store_file(upload.data, upload.filename, mime, kind)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if value is None or value == "":
            raise _bad(f"there is no {name} in the request")
        raise _bad("wrong file identifier/HTTP URL specified")

    async def _send_document(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        stored = self._upload_or_existing(params, uploads, "document", "document")
        raw_caption, plain, entities = _check_caption(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        content = {"document": self._document(stored)}
        return self._new_bot_message(
            chat, "document", raw_caption, plain, entities, params, content, stored
        )

    async def _send_photo(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self._chat_for_send(params)
        stored = self._upload_or_existing(params, uploads, "photo", "photo")
        raw_caption, plain, entities = _check_caption(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        content = {"photo": [self._photo_size(stored)]}
        return self._new_bot_message(
            chat, "photo", raw_caption, plain, entities, params, content, stored
        )

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[_Chat, SentMessage]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the emulator")
        chat_id = params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad("chat not found")
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = chat.bot_messages.get(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            if message_id in chat.messages and message is None:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return chat, message

    def _apply_edit(
        self,
        chat: _Chat,
        message: SentMessage,
        params: dict[str, Any],
        new_text: tuple[str, str, list[dict[str, Any]]] | None,
    ) -> dict[str, Any]:
        """Apply a text/caption (or markup-only when ``new_text`` is None) edit."""
        echo, rows, raw_markup = _parse_markup(params.get("reply_markup"))
        raw_text, plain, entities = (
            new_text if new_text is not None else (message.raw_text, message.text, message.entities)
        )
        if (
            plain == message.text
            and entities == message.entities
            and echo == message.raw.get("reply_markup")
        ):
            raise _ApiError(400, NOT_MODIFIED)
        raw = message.raw
        text_key = "text" if message.kind == "text" else "caption"
        entities_key = "entities" if message.kind == "text" else "caption_entities"
        raw.pop(text_key, None)
        raw.pop(entities_key, None)
        if plain:
            raw[text_key] = plain
            if entities:
                raw[entities_key] = entities
        raw.pop("reply_markup", None)
        if echo is not None:
            raw["reply_markup"] = echo
        raw["edit_date"] = int(time.time())
        if new_text is not None:
            message.parse_mode = params.get("parse_mode")
        message.raw_text, message.text, message.entities = raw_text, plain, entities
        message.reply_markup, message.raw_reply_markup = rows, raw_markup
        message.edited = True
        message.edit_count += 1
        chat.seq += 1
        message.seq = chat.seq
        chat.events.append(message.render())
        return raw

    async def _edit_message_text(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat, message = self._message_to_edit(params)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        new_text = _check_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        return self._apply_edit(chat, message, params, new_text)

    async def _edit_message_caption(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        chat, message = self._message_to_edit(params)
        if message.kind == "text":
            raise _bad("there is no caption in the message to edit")
        new_caption = _check_caption(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        return self._apply_edit(chat, message, params, new_caption)

    async def _edit_message_reply_markup(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        chat, message = self._message_to_edit(params)
        return self._apply_edit(chat, message, params, None)

    async def _delete_message(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad("chat not found")
        if message_id not in chat.messages:
            raise _bad("message to delete not found")
        del chat.messages[message_id]
        chat.seq += 1
        sent = chat.bot_messages.get(message_id)
        if sent is not None:
            sent.deleted = True
            sent.seq = chat.seq
        chat.events.append(f"bot deletes #{message_id}")
        return True

    async def _answer_callback_query(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        opened = self._open_queries.pop(query_id, None)
        if opened is None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        update_id, user_id, message_id, data = opened
        text = params.get("text")
        answer = CallbackAnswer(
            query_id=query_id,
            update_id=update_id,
            user_id=user_id,
            message_id=message_id,
            data=data,
            text=str(text) if text else None,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
        )
        self.callback_answers.append(answer)
        chat = self._chats.get(user_id)
        if chat is not None:
            style = "alert" if answer.show_alert else "toast"
            shown = f" {style}: {answer.text}" if answer.text else ""
            chat.events.append(f"bot answers tap ({data}){shown}")
        return True

    async def _get_file(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return stored.as_file()
