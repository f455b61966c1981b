"""Webhook hardening, secrets kept out of logs, retention, and no orphan worker processes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.bootstrap import StartupError, check_webhook_settings
from bot.redact import RedactSecret
from bot.settings import Settings
from handlers.telegram_intake import SECRET_HEADER, TelegramWebhook
from storage import retention
from storage.models import ButtonToken, Cycle, Event, InboundSeen, InboxItem, Outbox, StoredFile
from tests.botproc import ROOT
from tests.flowkit import FakeClock, seed_small_office

SECRET = "rahasia-uji_0123456789"
NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- webhook ----------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "has space", "x" * 257, "ünï"])
def test_webhook_mode_refuses_to_start_without_a_valid_secret(secret):
    settings = Settings(
        _env_file=None,
        telegram_webhook_url="https://bot.example/telegram",
        telegram_webhook_secret=secret,
    )
    with pytest.raises(StartupError) as err:
        check_webhook_settings(settings)
    assert "TELEGRAM_WEBHOOK_SECRET" in str(err.value)


def test_polling_needs_no_secret_and_a_good_secret_passes():
    check_webhook_settings(Settings(_env_file=None))
    check_webhook_settings(
        Settings(
            _env_file=None,
            telegram_webhook_url="https://bot.example/telegram",
            telegram_webhook_secret=SECRET,
        )
    )


@pytest.fixture
async def webhook(db):
    stored: list[int] = []
    hook = TelegramWebhook(
        db,
        FakeClock(NOW),
        secret=SECRET,
        path="/tg",
        max_body=64 * 1024,
        on_stored=lambda: stored.append(1),
    )
    port = free_port()
    await hook.start("127.0.0.1", port)
    yield f"http://127.0.0.1:{port}/tg", stored
    await hook.stop()


async def inbox_count(db) -> int:  # noqa: ANN001
    async with db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(InboxItem)) or 0


async def test_webhook_answers_200_only_after_the_update_is_committed(db, webhook):
    url, stored = webhook
    update = {"update_id": 77, "message": {"message_id": 1, "date": 0, "text": "/isi"}}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as resp:
            assert resp.status == 200
            assert await inbox_count(db) == 1  # already committed when the 200 arrives
        async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as resp:
            assert resp.status == 200  # a retry by Telegram is stored once
    assert await inbox_count(db) == 1 and stored == [1]


@pytest.mark.parametrize("given", [None, "", "salah", SECRET[:-1], SECRET + "x"])
async def test_webhook_refuses_a_wrong_secret_and_stores_nothing(db, webhook, given):
    url, _ = webhook
    headers = {SECRET_HEADER: given} if given is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"update_id": 1}, headers=headers) as resp,
    ):
        assert resp.status == 403
    assert await inbox_count(db) == 0


async def test_webhook_refuses_a_huge_body_without_reading_it(db, webhook):
    url, _ = webhook
    sent = 0

    async def body():
        nonlocal sent
        chunk = b"x" * 65536
        for _ in range(1600):  # 100 MB if it were all read
            sent += len(chunk)
            yield chunk

    async with aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: SECRET}):
            sent = 0
            try:
                async with http.post(url, data=body(), headers=headers) as resp:
                    assert resp.status in (403, 413)
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                pass  # the server hung up mid-upload: also a refusal
            assert sent < 20 * 1024 * 1024
        oversized = b"{" + b" " * (65 * 1024) + b"}"
        async with http.post(url, data=oversized, headers={SECRET_HEADER: SECRET}) as resp:
            assert resp.status == 413
        async with http.post(url, data=b"not json", headers={SECRET_HEADER: SECRET}) as resp:
            assert resp.status == 400
    assert await inbox_count(db) == 0


# --- secrets ----------------------------------------------------------------------------------


def test_secrets_are_masked_in_messages_and_library_tracebacks(caplog):
    from telegram.error import InvalidToken

    token = "123456:AAH-secret-token"
    log = logging.getLogger("uji.rahasia")
    handler = logging.StreamHandler(stream := __import__("io").StringIO())
    handler.addFilter(RedactSecret(token, SECRET))
    log.addHandler(handler)
    try:
        log.error("calling https://api.telegram.org/bot%s/getMe with %s", token, SECRET)
        try:
            raise InvalidToken(f"The token `{token}` was rejected by the server.")
        except InvalidToken:
            log.exception("start failed")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "start failed" in text and "InvalidToken" in text and "***" in text
    assert token not in text and SECRET not in text


async def test_a_rejected_token_is_not_printed(tmp_path, emu):
    """The real CLI, a token the Bot API rejects (PTB's InvalidToken quotes it): masked."""
    token = "654321:AAH-cli-token-never-shown"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")},
        "TELEGRAM_TOKEN": token,
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{emu.port}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}",
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "jalan", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    text = output.decode()
    assert proc.returncode != 0
    assert "Token Telegram ditolak" in text  # the CLI's two Indonesian lines, no traceback
    assert "Traceback" not in text
    assert "AAH-cli-token" not in text


# --- retention --------------------------------------------------------------------------------


async def test_retention_prunes_old_delivery_rows_but_never_events_or_files(db):
    ids = await seed_small_office(db)
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    async with db.transaction() as s:
        for i, at in enumerate((old, recent)):
            s.add(InboxItem(channel="telegram", key=f"d{i}", payload={}, status="done",
                            received_at=at))  # fmt: skip
            s.add(InboundSeen(channel="telegram", key=f"s{i}", at=at))
            s.add(Outbox(dedupe_key=f"o{i}", channel="telegram", address="1", payload={},
                         status="sent", created_at=at))  # fmt: skip
            s.add(ButtonToken(token=f"t{i}", person_id=ids["kasi"], action="isi.mulai",
                              created_at=at))  # fmt: skip
            s.add(Event(action="uji", at=at))
            s.add(StoredFile(kind="photo", file_name="a.jpg", size=1, sha256="0", content=b"x",
                             created_at=at))  # fmt: skip
        s.add(InboxItem(channel="telegram", key="dead", payload={}, status="dead",
                        received_at=old))  # fmt: skip
        s.add(Outbox(dedupe_key="pending", channel="telegram", address="1", payload={},
                     status="pending", created_at=old))  # fmt: skip
        s.add(Outbox(dedupe_key="edited-later", channel="telegram", address="1", payload={},
                     status="sent", created_at=old))  # fmt: skip
    async with db.transaction() as s:
        card = await s.scalar(select(Outbox.id).where(Outbox.dedupe_key == "edited-later"))
        s.add(Outbox(dedupe_key="edit", channel="telegram", address="1",
                     payload={"edit_of": f"outbox:{card}"}, status="pending",
                     created_at=recent))  # fmt: skip
    async with db.transaction() as s:
        counts = await retention.prune(s, NOW, days=30)
    assert counts == {"inbox": 1, "inbound_seen": 1, "outbox": 1, "button_token": 1}
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Event)) == 2
        assert await s.scalar(select(func.count()).select_from(StoredFile)) == 2
        keys = set(await s.scalars(select(Outbox.dedupe_key)))
        assert keys == {"o1", "pending", "edited-later", "edit"}
        assert set(await s.scalars(select(InboxItem.key))) == {"d1", "dead"}


async def test_button_tokens_of_a_running_cycle_are_kept(db):
    ids = await seed_small_office(db)
    async with db.transaction() as s:
        s.add(Cycle(office_id=ids["office"], period_key="2026-TW3", preset="p", step="isi",
                    status="running", created_at=NOW))  # fmt: skip
        s.add(ButtonToken(token="tua", person_id=ids["kasi"], action="isi.mulai",
                          created_at=NOW - timedelta(days=90)))  # fmt: skip
    async with db.transaction() as s:
        assert (await retention.prune(s, NOW, days=30))["button_token"] == 0


# --- process hygiene --------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
async def test_render_workers_die_when_the_bot_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys, time
        from reports.pdf import make_render_executor
        pool = make_render_executor()
        pool.submit(time.sleep, 600)  # busy: a worker that finished its one task exits
        while not pool._processes:
            time.sleep(0.05)  # waiting for the pool to start its worker
        print(next(iter(pool._processes)), flush=True)
        time.sleep(600)
        """
    )
    out = tmp_path / "pid.txt"
    with out.open("wb") as sink:  # a file, not a pipe: an orphan must not hold our wait
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, cwd=ROOT, stdout=sink,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    for _ in range(1800):
        if out.read_text().strip():
            break
        await asyncio.sleep(0.05)  # waiting for the child process to start its pool
    worker = int(out.read_text())
    assert _alive(worker)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    for _ in range(100):
        if not _alive(worker):
            break
        await asyncio.sleep(0.05)  # waiting on the kernel, not on our own clock
    if _alive(worker):
        os.kill(worker, signal.SIGKILL)
        pytest.fail(f"render worker {worker} outlived the bot")
