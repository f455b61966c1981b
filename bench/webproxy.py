"""A tiny stand-in for nginx in front of the webhook workers (deploy/scaling/nginx-kinerja.conf).

Round robin over the upstreams; an upstream that refuses the connection is skipped for
``fail_timeout`` seconds and the request goes to the next one (``proxy_next_upstream error``).
A request that reached a worker which then died is not replayed (nginx does not replay a POST):
the answer is 502 and Telegram (here the emulator) sends the update again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import ClientConnectorError, ClientError, ClientSession, ClientTimeout, web

_HOP = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class Upstream:
    port: int
    down_until: float = 0.0
    requests: int = 0
    failures: int = 0


@dataclass
class WebProxy:
    """``await start()``, then point the webhook at :attr:`url`; ``await stop()``."""

    ports: list[int]
    path: str
    fail_timeout: float = 2.0
    upstreams: list[Upstream] = field(init=False)
    answered_502: int = 0
    _next: int = 0
    _runner: web.AppRunner | None = None
    _http: ClientSession | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self.upstreams = [Upstream(p) for p in self.ports]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        self._http = ClientSession(timeout=ClientTimeout(total=30))
        app = web.Application(client_max_size=25 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def _order(self) -> list[Upstream]:
        now = time.monotonic()
        n = len(self.upstreams)
        start, self._next = self._next, (self._next + 1) % n
        ring = [self.upstreams[(start + i) % n] for i in range(n)]
        alive = [u for u in ring if u.down_until <= now]
        return alive or ring  # all marked down: try them anyway, as nginx does

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        for upstream in self._order():
            upstream.requests += 1
            url = f"http://127.0.0.1:{upstream.port}{request.path_qs}"
            try:
                async with self._http.request(
                    request.method, url, data=body, headers=headers
                ) as resp:
                    payload = await resp.read()
                    return web.Response(status=resp.status, body=payload)
            except ClientConnectorError:  # never reached the worker: the next one may take it
                upstream.failures += 1
                upstream.down_until = time.monotonic() + self.fail_timeout
                continue
            except (ClientError, TimeoutError):  # sent, then the worker died: no replay
                upstream.failures += 1
                upstream.down_until = time.monotonic() + self.fail_timeout
                break
        self.answered_502 += 1
        return web.Response(status=502)
