"""The machine a run measured on, and the versions of what it measured."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def versions(postgresql: str) -> dict[str, str]:
    from importlib.metadata import version

    def banner(*command: str) -> str:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=10
        ).stdout

    wrk_banner = banner("wrk", "--version")
    redis_banner = banner("redis-server", "--version")
    redis_version = next(
        (w.split("=", 1)[1] for w in redis_banner.split() if w.startswith("v=")),
        "unknown",
    )
    return {
        "Python": platform.python_version(),
        "Django": version("django"),
        "asgiref": version("asgiref"),
        "uvicorn": version("uvicorn"),
        "django-async-extensions": version("django-async-extensions"),
        "async_auth_views": version("async-auth-views"),
        "PostgreSQL": postgresql,
        "psycopg": f"{version('psycopg')}, psycopg-pool {version('psycopg-pool')}",
        "django-async-backend": version("django-async-backend"),
        "redis-server": redis_version,
        "redis-py": version("redis"),
        "wrk": wrk_banner.split()[1] if wrk_banner else "unknown",
    }
