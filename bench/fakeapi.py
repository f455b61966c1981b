"""An in-process fake of the Telegram Bot API as a PTB request object: only the network is fake.

Every call is answered at once like the real API would; each ``sendMessage`` is stamped with
``time.perf_counter()`` so a figure can count sends per second.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Kinerja Bot", "username": "bench_bot"}


class FakeBotApi(BaseRequest):
    """Answers getMe, sendMessage, edits and callback answers; records send times."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self._ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        if name == "getMe":
            result: Any = BOT_USER
        elif name in ("sendMessage", "editMessageText"):
            if name == "sendMessage":
                self.sent.append(time.perf_counter())
            chat = int(params.get("chat_id", 0))
            result = {
                "message_id": int(params.get("message_id") or next(self._ids)),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()
