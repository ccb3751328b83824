"""The docs say what the code does: every setting, every check, and examples that work.

What a user copies from ``docs/``, ``README.md`` or ``example/`` must be
complete and current: the settings page lists every setting the package
declares, the checks page every check ID the package can report, no example
installs the middleware our ``SessionMiddleware`` replaces, pip extras are
quoted for every shell, and a ``channels_redis`` layer configured as the docs
say keeps an idle consumer.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

import async_auth_views
from async_auth_views import conf
from tests import docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = Path(async_auth_views.__file__).parent
DJANGO_SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"


def check_ids_in_package() -> set[str]:
    """Every check ID the package can report, read from its source."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        found |= set(re.findall(r"async_auth_views\.[EW]\d{3}", path.read_text()))
    return found


def test_the_checks_page_lists_every_check() -> None:
    page = (DOCS / "checks.rst").read_text()
    listed = set(re.findall(r"^``(async_auth_views\.[EW]\d{3})``$", page, re.M))
    assert check_ids_in_package() - listed == set()
    assert listed - check_ids_in_package() == set()


def test_the_checks_page_is_in_the_table_of_contents() -> None:
    assert re.search(r"^   checks$", (DOCS / "index.rst").read_text(), re.M)


def test_the_settings_page_lists_every_setting_with_its_default_and_check() -> None:
    page = (DOCS / "settings.rst").read_text()
    sections = re.split(r"^(?=``ASYNC_AUTH_[A-Z_]+``\n-+$)", page, flags=re.M)
    by_name = {
        match.group(1): section
        for section in sections
        if (match := re.match(r"``(ASYNC_AUTH_[A-Z_]+)``", section))
    }
    assert sorted(by_name) == sorted(setting.name for setting in conf.SETTINGS)
    for setting in conf.SETTINGS:
        section = by_name[setting.name]
        assert re.search(r"^:Default: .+", section, re.M), setting.name
        assert f":Check: ``{setting.check_id}``" in section, setting.name


def test_the_settings_page_is_in_the_table_of_contents() -> None:
    assert re.search(r"^   settings$", (DOCS / "index.rst").read_text(), re.M)


def examples() -> list[tuple[str, str]]:
    """(where, code) of every example a user may copy."""
    found = [(block.id, block.code) for block in docs.all_blocks()]
    found += [
        (str(path.relative_to(ROOT)), path.read_text())
        for path in sorted((ROOT / "example").rglob("*.py"))
    ]
    return found


def test_no_example_installs_djangos_session_middleware() -> None:
    """Ours replaces it (getting-started says so); a comment may name what it replaces."""
    offending = [
        f"{where}: {line.strip()}"
        for where, code in examples()
        for line in code.splitlines()
        if DJANGO_SESSION_MIDDLEWARE in line.split("#", 1)[0]
    ]
    assert offending == []


def test_pip_extras_are_quoted() -> None:
    """Unquoted, zsh reads ``[channels]`` as a glob and refuses the command."""
    unquoted = re.compile(r"pip install [^\"'\n]*\w\[")
    texts = [DOCS / page for page in docs.pages()]
    texts += [ROOT / "README.md", ROOT / "pyproject.toml"]
    texts += sorted(PACKAGE.rglob("*.py"))
    offending = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in texts
        for line in path.read_text().splitlines()
        if unquoted.search(line)
    ]
    assert offending == []


def channels_redis_snippets() -> list[tuple[str, str]]:
    return [
        (where, code)
        for where, code in examples()
        if "channels_redis.core.RedisChannelLayer" in code and ".rst:" in where
    ]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")
def test_every_channels_redis_snippet_keeps_an_idle_consumer() -> None:
    """A consumer that waits longer than redis-py's default 5 s read timeout
    still gets the next message: a logout can still close its socket."""
    from channels_redis.core import RedisChannelLayer

    from devtools.servers import redis

    snippets = channels_redis_snippets()
    assert len(snippets) >= 2  # docs/channels.rst and docs/integrations.rst

    async def idle_then_receive(layer: RedisChannelLayer) -> dict[str, str]:
        channel = await layer.new_channel()
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(6.5)
        await layer.send(channel, {"type": "async_auth.revoke"})
        try:
            return await asyncio.wait_for(receiving, 5)
        finally:
            await layer.flush()
            await layer.close_pools()

    async def all_of(layers: list[RedisChannelLayer]) -> list[object]:
        return await asyncio.gather(
            *(idle_then_receive(layer) for layer in layers), return_exceptions=True
        )

    with redis() as server:
        layers = []
        for _, code in snippets:
            code = re.sub(r"redis://[\w.:/@-]+", server.url, code)
            namespace: dict[str, object] = {"redis_url": server.url}
            exec(code, namespace)
            config = namespace["CHANNEL_LAYERS"]["default"]  # type: ignore[index]
            layers.append(RedisChannelLayer(**config.get("CONFIG", {})))
        results = asyncio.run(all_of(layers))
    failed = {
        where: repr(result)
        for (where, _), result in zip(snippets, results, strict=True)
        if result != {"type": "async_auth.revoke"}
    }
    assert failed == {}
