"""How long a logout over HTTP takes to close a WebSocket, measured on real servers.

Run from the repository root: ``python bench/revocation_latency.py [--tries N]``.
Each try logs in over HTTP, opens the protected socket with the session cookie,
then logs out from a second client; the latency is the time from sending the
logout request to receiving the socket's close frame. Measured in one uvicorn
process (``InMemoryChannelLayer``) and across two processes sharing
``redis-server`` (``channels_redis``): log in and out through A, socket on B.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from devtools.channels_e2e import login, open_socket, prepared_database, serve
from devtools.servers import Server, redis

# async_auth_views.channels.CLOSE_UNAUTHENTICATED; importing it needs settings.
CLOSE_UNAUTHENTICATED = 4401


async def _latencies(
    http: Server, ws_server: Server, tries: int
) -> tuple[list[float], list[float]]:
    """(from sending the logout to the close frame, from its response to the close)."""
    from_request, from_response = [], []
    for _ in range(tries):
        key = await login(http, "alice")
        ws = await open_socket(ws_server, key)
        async with httpx.AsyncClient(
            base_url=http.url, cookies={"sessionid": key}
        ) as other_browser:
            closed = asyncio.ensure_future(ws.wait_closed())
            start = time.perf_counter()
            response = await other_browser.post("/logout/")
            answered = time.perf_counter()
            await asyncio.wait_for(closed, 5)
            end = time.perf_counter()
        response.raise_for_status()
        assert ws.close_code == CLOSE_UNAUTHENTICATED, ws.close_code
        from_request.append(end - start)
        from_response.append(end - answered)
    return from_request, from_response


def _report(label: str, latencies: tuple[list[float], list[float]]) -> None:
    print(f"{label}:")
    for since, values in zip(
        ("logout sent", "logout answered"), latencies, strict=True
    ):
        ms = sorted(1000 * value for value in values)
        print(
            f"  close {len(ms)} tries after {since}: median "
            f"{statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} "
            f"ms, worst {ms[-1]:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=100)
    tries = parser.parse_args().tries
    with tempfile.TemporaryDirectory() as tmp, prepared_database(Path(tmp)) as env:
        with serve(env, Path(tmp) / "one.log") as server:
            _report(
                "one process, InMemoryChannelLayer",
                asyncio.run(_latencies(server, server, tries)),
            )
        if shutil.which("redis-server") is None:
            print("two processes, channels_redis: skipped (no redis-server on PATH)")
            return
        with redis() as cache:
            redis_env = {**env, "E2E_REDIS_URL": cache.url}
            with (
                serve(redis_env, Path(tmp) / "a.log") as a,
                serve(redis_env, Path(tmp) / "b.log") as b,
            ):
                _report(
                    "two processes, channels_redis",
                    asyncio.run(_latencies(a, b, tries)),
                )


if __name__ == "__main__":
    main()
