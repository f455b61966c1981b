"""Tests for bot.offline.emulator: a real python-telegram-bot client against the emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.offline.emulator import BotApiEmulator, EmulatorError

TOKEN = "123456:TEST-TOKEN"
USER = 1001


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN, bot_username="kinerja_test_bot")
    await emulator.start(host="127.0.0.1", port=0)
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


async def test_get_me(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "kinerja_test_bot"
    assert me.id == 123456 and me.is_bot
    assert emu.port and emu.base_url == f"http://127.0.0.1:{emu.port}/bot"
    assert emu.calls_to("getMe")[-1].ok


async def test_application_command_button_and_callback(emu: BotApiEmulator) -> None:
    seen_args: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen_args.append(list(context.args or []))
        assert update.effective_user is not None and update.effective_message is not None
        await update.effective_message.reply_text(
            f"<b>Halo</b> {update.effective_user.first_name} &amp; kode {context.args[0]}",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Ya", "confirm:yes"), ("Tidak", "confirm:no")),
        )

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("Dicatat")
        await query.edit_message_text(f"Pilihan: {query.data}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_tap))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling()
        try:
            marker = emu.mark(USER)
            emu.user_sends_text(USER, "/start ABC123", first_name="Budi")
            reply = await emu.wait_for_message(USER, "Halo", after=marker, timeout=10)
            assert seen_args == [["ABC123"]]
            assert reply.text == "Halo Budi & kode ABC123"
            assert reply.entities == [{"type": "bold", "offset": 0, "length": 4}]
            assert reply.buttons == [("Ya", "confirm:yes"), ("Tidak", "confirm:no")]
            assert emu.find_button(USER, "Tidak") == (reply, "confirm:no")
            assert emu.last_message(USER) is reply

            with pytest.raises(EmulatorError, match="no button"):
                emu.user_taps(USER, reply.message_id, "confirm:maybe")

            marker = emu.mark(USER)
            update_id = emu.user_taps(USER, reply.message_id, "confirm:yes")
            answer = await emu.wait_for_callback_answer(update_id, timeout=10)
            assert answer.text == "Dicatat" and answer.data == "confirm:yes"
            edited = await emu.wait_for_message(USER, lambda m: m.edited, after=marker)
            assert edited.message_id == reply.message_id
            assert edited.text == "Pilihan: confirm:yes"
            assert edited.buttons == []  # editMessageText without reply_markup drops it
            assert len(emu.chat_messages(USER)) == 1
            assert emu.calls_to("answerCallbackQuery")[-1].ok
            assert emu.calls_to("editMessageText")[-1].ok
            await emu.wait_for_updates_consumed(timeout=10)
            assert "user #1: /start ABC123" in emu.transcript(USER)
        finally:
            await app.updater.stop()
            await app.stop()
    assert not emu.pending_updates


async def test_user_photo_download_and_document_upload(emu: BotApiEmulator, bot: Bot) -> None:
    photo_bytes = b"\xff\xd8\xff\xe0fake-jpeg" * 50
    update_id = emu.user_sends_photo(USER, photo_bytes, caption="bukti")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None and message.caption == "bukti"
    photo_file = await message.photo[-1].get_file()
    assert photo_file.file_path and photo_file.file_path.startswith(emu.base_file_url)
    assert await photo_file.download_as_bytearray() == bytearray(photo_bytes)

    emu.user_sends_document(USER, b"a,b\n1,2\n", "data.csv", "text/csv")
    updates = await bot.get_updates(offset=update_id + 1, timeout=0)
    document = updates[0].message.document if updates[0].message else None
    assert document is not None and document.file_name == "data.csv"
    assert await (await document.get_file()).download_as_bytearray() == b"a,b\n1,2\n"

    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 10
    sent = await bot.send_document(USER, document=pdf, filename="laporan.pdf", caption="Laporan")
    assert sent.document is not None and sent.document.file_name == "laporan.pdf"
    stored = emu.last_message(USER)
    assert stored is not None and stored.kind == "document"
    assert stored.file_name == "laporan.pdf" and stored.file_bytes == pdf
    assert stored.caption == "Laporan"
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert downloaded == pdf

    sent_photo = await bot.send_photo(USER, photo=photo_bytes)
    assert sent_photo.photo and emu.last_message(USER).kind == "photo"  # type: ignore[union-attr]
    # Re-sending by file_id reuses the stored bytes.
    again = await bot.send_document(USER, document=sent.document.file_id)
    assert again.document is not None and emu.file_bytes(again.document.file_id) == pdf


async def test_validation_errors(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(USER, "Budi")
    ok = await bot.send_message(USER, "x", reply_markup=keyboard(("B", "d" * 64)))
    assert ok.reply_markup is not None
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=keyboard(("B", "d" * 65)))
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(USER, "   ")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)can.t parse entities"):
        await bot.send_message(USER, "1 < 2", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("y", chat_id=USER, message_id=999)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "x", chat_id=USER, message_id=ok.message_id, reply_markup=ok.reply_markup
        )
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(4242, "hi")
    emu.block_user(USER)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER, "hi")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    assert emu.unknown_calls[-1].description == "Not Found: method fooBar"
    assert len(emu.chat_messages(USER)) == 1


async def test_updates_not_delivered_twice(emu: BotApiEmulator, bot: Bot) -> None:
    first = emu.user_sends_text(USER, "satu")
    second = emu.user_sends_text(USER, "dua")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    # Not confirmed yet: delivered again.
    assert len(await bot.get_updates(timeout=0, limit=1)) == 1
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    await emu.wait_for_updates_consumed(timeout=1)
    assert await bot.get_updates(timeout=0) == ()


async def test_long_poll_wakes_up_and_conflicts(emu: BotApiEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await emu.wait_for(lambda: emu.active_polls == 1, timeout=5)
    update_id = emu.user_sends_text(USER, "/help")
    async with asyncio.timeout(5):
        updates = await poll
    assert updates[0].update_id == update_id
    assert updates[0].message is not None and updates[0].message.text == "/help"

    # A second client polling concurrently terminates the first one, like Telegram does.
    older = asyncio.create_task(bot.get_updates(offset=update_id + 1, timeout=20))
    await emu.wait_for(lambda: emu.active_polls == 1, timeout=5)
    async with Bot(TOKEN, base_url=emu.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict):
        async with asyncio.timeout(5):
            await older


async def test_stop_does_not_hang_during_long_poll(emu: BotApiEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await emu.wait_for(lambda: emu.active_polls == 1, timeout=5)
    async with asyncio.timeout(5):
        await emu.stop()
        result = await asyncio.gather(poll, return_exceptions=True)
    assert result[0] == () or isinstance(result[0], Exception)


async def test_form_and_json_bodies(emu: BotApiEmulator) -> None:
    emu.add_user(USER)
    url = f"{emu.base_url}{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as session:
        form = {"chat_id": str(USER), "text": "123", "reply_markup": json.dumps(markup)}
        async with session.post(url, data=form) as resp:
            body = await resp.json()
        assert body["ok"] and body["result"]["text"] == "123"
        async with session.post(url, json={"chat_id": USER, "text": "json"}) as resp:
            assert (await resp.json())["result"]["chat"]["type"] == "private"
        async with session.post(f"{emu.base_url}0:bad/getMe") as resp:
            assert resp.status == 401
    messages = emu.chat_messages(USER)
    assert [m.text for m in messages] == ["123", "json"]
    assert messages[0].reply_markup == [[("A", "a")]]
    assert emu.calls_to("sendMessage")[0].params["chat_id"] == USER


async def test_wait_for_message_timeout_shows_transcript(emu: BotApiEmulator) -> None:
    emu.user_sends_text(USER, "halo")
    with pytest.raises(EmulatorError, match="(?s)timed out.*user #1: halo"):
        await emu.wait_for_message(USER, "never", timeout=0.05)
