"""Every code block of ``docs/`` runs here, so no example can rot.

Each block (see ``tests/docs.py`` for what counts as one) gets one test, by
its language:

``python``, a settings block (every statement assigns UPPER_CASE names)
    run over a new project's settings (``startproject``'s, then the settings
    block of ``getting-started.rst``) and checked with Django's system checks
    under those settings: an error, or a warning the block brings, fails. The
    caches it names get a write and a read; its channel layers a message
    received after idling longer than redis-py's default read timeout. A
    Redis address in it is pointed at a throwaway ``redis-server``.
``python``, a file of a project (its first line ``# settings.py`` or
``# accounts/models.py``)
    the page's files and settings blocks, in order, make a project
    (``startproject mysite``'s, with getting-started's settings; a bare file
    name goes in ``mysite/``), which must pass ``check`` and migrate.
``python``, any other block
    run in order with the page's earlier blocks, in one namespace per page,
    as a module of ``tests.docs_app`` (whose ``models`` and ``serializers``
    the examples' relative imports name). What it defines is then used: a
    view is requested by an anonymous user (a protected one must refuse) and
    by a superuser (no error: a template the page does not show, or a
    ``...`` body, is where the example ends); a consumer is connected to,
    anonymously and as a superuser, through ``AuthMiddlewareStack``; a
    middleware serves a request in ``MIDDLEWARE``.
``diff``
    the lines it adds, with its context, run as Python.
``console``, ``sh``, ``bash``, ``::`` blocks, and inline ````pip install````
    every ``pip install`` quotes its extras (``[`` is a glob in zsh) and names
    extras that exist; every ``python3 run.py`` command and ``-e`` tox
    environment exists.
``text``
    after a ``raises`` block, the error's message; otherwise not code.

A block this cannot run says so in an RST comment on the line before it
(readers of the rendered page do not see it):

- ``.. test: tests/e2e/test_wheel.py::test_name`` -- that test runs it; it
  must exist and read the page through ``tests.docs``;
- ``.. test: quoted from example/example_site/settings.py`` -- its lines are
  in that file, in order (the file is what the tests run);
- ``.. test: raises ImproperlyConfigured`` -- running it raises that;
- ``.. test: skip: <why>`` -- not run, for the reason given.

A block of another language, or a marker of another form, fails. A package a
block imports that is not installed fails where ``ASYNC_AUTH_DOCS_ALL=1``
(tox's ``compat`` environment, which installs every package the docs name);
other environments skip the blocks whose packages they lack.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import inspect
import itertools
import logging
import os
import re
import shlex
import shutil
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core import checks
from django.db import IntegrityError
from django.template import TemplateDoesNotExist
from django.test import AsyncClient, Client, override_settings
from django.urls import path
from django.utils.module_loading import import_string

import run
from tests.docs import DOCS, Block, all_blocks, page_blocks, parse

ROOT = Path(__file__).resolve().parents[1]
ALL = bool(os.environ.get("ASYNC_AUTH_DOCS_ALL"))
#: The Redis the docs name, and its database number.
DOCS_REDIS = re.compile(r"redis://127\.0\.0\.1:6379(/\d+)?")
PACKAGE = "async-auth-views"
SHELL = {"console", "sh", "bash", "shell", "literal"}
#: The packages the docs' examples import that an environment may lack.
PACKAGES = {"adrf", "allauth", "channels", "channels_redis", "guardian", "django_otp", "ninja", "rest_framework", "rules"}  # fmt: skip
#: Settings a block may set that these tests keep as the suite has them.
KEPT = {"DATABASES", "ROOT_URLCONF", "WSGI_APPLICATION", "BASE_DIR", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}  # fmt: skip
#: Longer than redis-py's default read timeout (5 s), which channels_redis's
#: blocking read outlasts: an idle consumer must still get its message.
IDLE = 6.5


def marker(block: Block) -> tuple[str, str] | None:
    """The kind of ``block``'s marker and its argument."""
    if block.marker is None:
        return None
    for kind, pattern in (
        ("skip", r"skip:\s*(\S.*)"),
        ("raises", r"raises\s+(\w+)"),
        ("quoted", r"quoted from\s+(\S+)"),
        ("test", r"(tests/\S+\.py::\S+)"),
    ):
        found = re.fullmatch(pattern, block.marker)
        if found:
            return kind, found.group(1)
    pytest.fail(
        f"docs/{block.id}: a marker this harness does not know: {block.marker!r}"
    )


def is_settings(block: Block) -> bool:
    """Whether every statement of a Python ``block`` assigns an UPPER_CASE name."""
    if block.language != "python":
        return False
    try:
        statements = ast.parse(block.code).body
    except SyntaxError:
        return False
    targets = []
    for statement in statements:
        if isinstance(statement, ast.Assign):
            targets += statement.targets
        elif isinstance(statement, ast.AugAssign | ast.AnnAssign):
            targets.append(statement.target)
        else:
            return False
    return bool(statements) and all(
        isinstance(t, ast.Name) and t.id.isupper() for t in targets
    )


def missing_package(error: ImportError) -> None:
    """Skip (fail where every package is installed) for a package not installed."""
    top = (getattr(error, "name", None) or "").split(".")[0]
    if isinstance(error, ModuleNotFoundError) and top in PACKAGES:
        if ALL:
            pytest.fail(f"{error.name} is not installed: add it to tox's compat env")
        pytest.skip(f"needs {error.name}, which tox -e compat installs")
    raise error


# -- Settings blocks ---------------------------------------------------------


def template_settings() -> dict[str, Any]:
    """What ``django-admin startproject`` writes."""
    template = Path(django.__file__).parent / "conf/project_template/project_name/settings.py-tpl"  # fmt: skip
    text = template.read_text().replace("{{ project_name }}", "mysite")
    text = text.replace("{{ secret_key }}", "docs").replace("{{ django_version }}", django.get_version())  # fmt: skip
    text = text.replace("{{ docs_version }}", "dev")
    namespace: dict[str, Any] = {"__file__": str(ROOT / "mysite" / "settings.py")}
    exec(compile(text, "settings.py-tpl", "exec"), namespace)
    return namespace


def new_project_settings() -> dict[str, Any]:
    """What ``django-admin startproject`` writes, then getting-started's block."""
    namespace = template_settings()
    (first,) = [b for b in page_blocks("getting-started.rst") if is_settings(b)]  # fmt: skip
    exec(compile(first.code, f"docs/{first.id}", "exec"), namespace)
    return namespace


def settings_of(block: Block, redis_url: str | None) -> dict[str, Any]:
    """The settings a project has after ``block``, as overrides for the suite.

    A list shown with a ``# ...`` line stands for the project's own list with
    the entries shown put in, in the order shown."""
    namespace = new_project_settings() if block.page != "getting-started.rst" else template_settings()  # fmt: skip
    code = block.code
    if DOCS_REDIS.search(code):
        if redis_url is None:
            pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
        server = redis_url.rsplit("/", 1)[0]
        code = DOCS_REDIS.sub(lambda found: server + (found.group(1) or ""), code)
    before = dict(namespace)
    exec(compile(code, f"docs/{block.id}", "exec"), namespace)
    for name in elided_lists(code):
        namespace[name] = merged(before.get(name, []), namespace[name])
    return {k: v for k, v in namespace.items() if k.isupper() and k not in KEPT}


def elided_lists(code: str) -> set[str]:
    """The names ``code`` assigns a list literal with a ``# ...`` line in it."""
    names = set()
    for statement in ast.parse(code).body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.List):
            text = ast.get_source_segment(code, statement.value) or ""
            if any(line.strip() == "# ..." for line in text.splitlines()):
                names |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
    return names


def merged(project: list[Any], shown: list[Any]) -> list[Any]:
    """``project`` with the entries of ``shown`` it lacks put in after the
    entry shown before them."""
    result = list(project)
    position = -1
    for entry in shown:
        if entry in result:
            position = result.index(entry)
        else:
            position += 1
            result.insert(position, entry)
    return result


def labels(apps: list[str]) -> set[str]:
    return {name.rsplit(".apps.", 1)[0].rsplit(".", 1)[-1] for name in apps}


def run_checks(overrides: dict[str, Any]) -> set[str]:
    """The warnings and errors Django's checks report for the project
    ``overrides`` describes, but for the checks of apps only the suite has."""
    for name in overrides.get("INSTALLED_APPS", []):
        try:
            importlib.import_module(name.rsplit(".apps.", 1)[0])
        except ImportError as error:
            missing_package(error)
    foreign = labels(settings.INSTALLED_APPS) - labels(overrides.get("INSTALLED_APPS", []))  # fmt: skip
    with override_settings(**overrides):
        found = checks.run_checks()
    return {
        f"{m.id}: {m.msg}"
        for m in found
        if m.level >= checks.WARNING
        and not m.is_silenced()
        and (m.id or "").split(".")[0] not in foreign
    }


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str | None]:
    """A throwaway redis-server for the blocks that name Redis; None without one."""
    if shutil.which("redis-server") is None:
        yield None
        return
    from devtools.servers import redis

    with redis() as server:
        yield server.url


async def idle_then_receive(config: dict[str, Any]) -> str:
    """Receive one message on a new channel of the layer ``config``, sent after
    IDLE seconds; return what happened."""
    from channels.layers import get_channel_layer

    with override_settings(CHANNEL_LAYERS={"default": config}):
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()

        async def send_later() -> None:
            await asyncio.sleep(IDLE)
            await layer.send(channel, {"type": "docs.ping"})

        sender = asyncio.create_task(send_later())
        try:
            message = await asyncio.wait_for(layer.receive(channel), IDLE + 5)
        except Exception as error:  # what the consumer would die of
            return f"{type(error).__name__}: {error}"
        finally:
            sender.cancel()
            if hasattr(layer, "flush"):
                await layer.flush()
        return "received" if message == {"type": "docs.ping"} else repr(message)


def exercise_settings(block: Block, redis_url: str | None) -> None:
    overrides = settings_of(block, redis_url)
    base = {k: v for k, v in new_project_settings().items() if k.isupper() and k not in KEPT}  # fmt: skip
    brought = run_checks(overrides) - run_checks(base)
    assert not brought, (
        f"docs/{block.id} brings these checks' messages: {sorted(brought)}"
    )
    caches = overrides.get("CACHES")
    if caches and caches != base.get("CACHES"):
        from django.core.cache import caches as handler

        with override_settings(CACHES=caches):
            for alias in caches:
                handler[alias].set("docs-probe", alias, 30)
                assert handler[alias].get("docs-probe") == alias
                handler[alias].delete("docs-probe")
    layers = overrides.get("CHANNEL_LAYERS")
    if layers and "redis" in repr(layers).lower():
        try:
            import channels_redis  # noqa: F401
        except ImportError as error:
            missing_package(error)
        outcomes = async_to_sync(_idle_all)(layers)
        assert set(outcomes.values()) == {"received"}, (
            f"docs/{block.id}: an idle consumer lost its channel layer: {outcomes}"
        )


async def _idle_all(layers: dict[str, Any]) -> dict[str, str]:
    results = await asyncio.gather(*(idle_then_receive(c) for c in layers.values()))
    return dict(zip(layers, results, strict=True))


# -- Code blocks --------------------------------------------------------------
# The exercises run through async_to_sync, as Django's async tests do: their
# database calls come back to the test's thread and its connection, so none is
# left open in a worker thread (PostgreSQL refuses to drop a database in use).


@dataclass
class Outcome:
    """What running one code block gave: the names it defined, or its error."""

    defined: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None


@dataclass
class Page:
    module: types.ModuleType
    outcomes: dict[int, Outcome]


PAGES: dict[str, Page] = {}


def python_of(block: Block) -> str:
    """The Python a block runs: a diff's added and context lines."""
    if block.language != "diff":
        return block.code
    kept = [line[1:] for line in block.code.splitlines() if not line.startswith(("-", "@@"))]  # fmt: skip
    return "\n".join(kept) + "\n"


def run_page(page: str) -> Page:
    """Run the code blocks of ``page`` in order, in one module; once per page."""
    if page in PAGES:
        return PAGES[page]
    name = "tests.docs_app.page_" + re.sub(r"\W", "_", page.removesuffix(".rst"))
    module = types.ModuleType(name)
    module.__package__ = "tests.docs_app"
    sys.modules[name] = module  # for the dotted paths of MIDDLEWARE
    outcomes = {}
    for block in page_blocks(page):
        if block.language not in {"python", "diff"} or is_settings(block):
            continue
        kind = (marker(block) or ("", ""))[0]
        if kind in {"skip", "quoted", "test"}:
            continue
        before = dict(vars(module))
        outcome = Outcome()
        try:
            exec(compile(python_of(block), f"docs/{block.id}", "exec"), vars(module))
        except BaseException as error:
            outcome.error = error
        outcome.defined = {
            k: v
            for k, v in vars(module).items()
            if k not in before or before[k] is not v
        }
        outcomes[block.line] = outcome
    PAGES[page] = Page(module, outcomes)
    return PAGES[page]


def views_of(defined: dict[str, Any], module: str) -> dict[str, Callable[..., Any]]:
    """The views ``defined`` holds: view classes, as views, and functions whose
    first argument is ``request``."""
    from django.views import View

    views = {}
    for name, value in defined.items():
        if getattr(value, "__module__", None) != module:
            continue
        if isinstance(value, type) and issubclass(value, View):
            views[name] = value.as_view()
        elif inspect.isfunction(value):
            parameters = list(inspect.signature(value).parameters)
            if parameters[:1] == ["request"]:
                views[name] = value
    return views


def route(name: str, view: Callable[..., Any]) -> tuple[str, Any]:
    """A URL for ``view`` and its pattern, with 1 for each argument after
    ``request``, and for a detail view's ``pk``."""
    if hasattr(view, "view_class"):  # a detail view's object is named by pk
        arguments = ["pk"] if hasattr(view.view_class, "get_object") else []
    else:
        arguments = list(inspect.signature(inspect.unwrap(view)).parameters)[1:]
    pattern = f"{name}/" + "".join(f"<int:{a}>/" for a in arguments)
    return f"/{name}/" + "1/" * len(arguments), path(pattern, view)


def protected(view: Callable[..., Any]) -> bool:
    """Whether ``view`` refuses an anonymous user by the library's rules."""
    from async_auth_views.mixins import AccessMixin, AnonymousRequiredMixin

    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return issubclass(view_class, AccessMixin) and not issubclass(view_class, AnonymousRequiredMixin)  # fmt: skip
    return getattr(view, "login_required", True) is not False and hasattr(view, "__wrapped__")  # fmt: skip


async def request(client: AsyncClient, url: str, block: Block) -> int:
    """GET ``url``; its status, or 200 where the example ends (no template
    shown, a ``...`` body)."""
    try:
        response = await client.get(url)
    except TemplateDoesNotExist:
        return 200  # the view ran up to rendering a template of the project's
    except ValueError as error:
        if "..." in block.code and "didn't return an HttpResponse" in str(error):
            return 200  # the body the page leaves to the reader
        raise
    return response.status_code


@dataclass(eq=False)  # hashable: Django caches resolvers by URLconf
class Urls:
    urlpatterns: list[Any]


def an_object_of(view: Callable[..., Any]) -> None:
    """The object a detail view's URL names (pk 1), where its model can make
    one from its defaults: a protected view must refuse, not answer 404."""
    model = getattr(getattr(view, "view_class", None), "model", None)
    if model is None or model.objects.filter(pk=1).exists():
        return
    with contextlib.suppress(IntegrityError):
        model.objects.create(pk=1)


async def exercise_views(block: Block, views: dict[str, Callable[..., Any]], superuser: Any) -> None:  # fmt: skip
    routes = dict(route(name, view) for name, view in views.items())
    urlconf = Urls(list(routes.values()))
    with override_settings(ROOT_URLCONF=urlconf):
        anonymous = AsyncClient()
        logged_in = AsyncClient()
        await logged_in.aforce_login(superuser)
        for (name, view), url in zip(views.items(), routes, strict=True):
            await sync_to_async(an_object_of)(view)
            status = await request(anonymous, url, block)
            assert status < 500, f"{name}: anonymous {status}"
            if protected(view):
                assert status in {302, 403}, (
                    f"{name} let an anonymous user in: {status}"
                )
            status = await request(logged_in, url, block)
            assert status < 500, f"{name}: superuser {status}"


async def exercise_consumers(consumers: dict[str, type], superuser: Any) -> None:
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from async_auth_views.channels import AccessMixin, AuthMiddlewareStack

    client = Client()
    await sync_to_async(client.force_login)(superuser)
    key = await sync_to_async(lambda: client.session.session_key)()
    cookie = [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())]
    for name, consumer in consumers.items():
        app = AuthMiddlewareStack(URLRouter([path("ws/<room>/", consumer.as_asgi())]))
        for who, headers in (("anonymous", []), ("superuser", cookie)):
            communicator = WebsocketCommunicator(app, "/ws/1/", headers=headers)
            connected, _ = await communicator.connect(timeout=5)
            if who == "anonymous" and issubclass(consumer, AccessMixin):
                assert not connected, f"{name} let an anonymous user in"
            if connected:
                await communicator.send_json_to({"text": "docs"})
                await communicator.receive_nothing(timeout=0.2)
                await communicator.disconnect()
            # Raises what the consumer raised, if it did.
            await communicator.wait(timeout=1)


async def exercise_middleware(classes: dict[str, type], module: str, superuser: Any) -> None:  # fmt: skip
    from django.http import HttpResponse

    async def page(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    urlconf = Urls([path("page/", page)])
    for name in classes:
        ours = "async_auth_views.middleware.AuthenticationMiddleware"
        replaces = issubclass(classes[name], import_string(ours))
        middleware = [
            f"{module}.{name}" if replaces and entry == ours else entry
            for entry in settings.MIDDLEWARE
        ]
        if f"{module}.{name}" not in middleware:
            middleware.append(f"{module}.{name}")
        with override_settings(ROOT_URLCONF=urlconf, MIDDLEWARE=middleware):
            anonymous, logged_in = AsyncClient(), AsyncClient()
            await logged_in.aforce_login(superuser)
            for client in (anonymous, logged_in):
                status = (await client.get("/page/")).status_code
                assert status < 500, f"{name}: {status}"


async def exercise_ninja(apis: dict[str, Any], superuser: Any) -> None:
    """GET every operation of each django-ninja API, anonymously and logged in."""
    previous = os.environ.get("NINJA_SKIP_REGISTRY")
    os.environ["NINJA_SKIP_REGISTRY"] = "1"  # the compat tests have APIs too
    try:
        for name, api in apis.items():
            patterns, *_ = api.urls
            operations = [str(p.pattern) for p in patterns if not (p.name or "").startswith("openapi")]  # fmt: skip
            with override_settings(ROOT_URLCONF=Urls([path("api/", api.urls)])):  # fmt: skip
                anonymous, logged_in = AsyncClient(), AsyncClient()
                await logged_in.aforce_login(superuser)
                for operation in operations:
                    for client in (anonymous, logged_in):
                        status = (await client.get(f"/api/{operation}")).status_code
                        assert status < 500, f"{name}: /api/{operation}: {status}"
    finally:
        if previous is None:
            os.environ.pop("NINJA_SKIP_REGISTRY", None)
        else:
            os.environ["NINJA_SKIP_REGISTRY"] = previous


def exercise_code(block: Block, superuser: Any) -> None:
    from django.views import View

    page = run_page(block.page)
    outcome = page.outcomes[block.line]
    if outcome.error is not None:
        if isinstance(outcome.error, ImportError):
            missing_package(outcome.error)
        raise outcome.error
    module = page.module.__name__
    defined = {k: v for k, v in outcome.defined.items() if getattr(v, "__module__", None) == module}  # fmt: skip
    views = views_of(defined, module)
    apis = {k: v for k, v in outcome.defined.items() if type(v).__name__ == "NinjaAPI"}  # fmt: skip
    if apis:
        views = {}  # its operations are not Django views: served through it
        async_to_sync(exercise_ninja)(apis, superuser)
    consumers: dict[str, type] = {}
    middleware: dict[str, type] = {}
    for name, value in defined.items():
        if not isinstance(value, type) or issubclass(value, View):
            continue
        if "channels" in sys.modules:
            from channels.consumer import AsyncConsumer

            if issubclass(value, AsyncConsumer):
                consumers[name] = value
        from async_auth_views.middleware import (  # fmt: skip
            AuthenticationMiddleware,
            LoginRequiredMiddleware,
        )

        if issubclass(value, AuthenticationMiddleware | LoginRequiredMiddleware):
            middleware[name] = value
    if views:
        async_to_sync(exercise_views)(block, views, superuser)
    if consumers:
        async_to_sync(exercise_consumers)(consumers, superuser)
    if middleware:
        async_to_sync(exercise_middleware)(middleware, module, superuser)


# -- Shell blocks -------------------------------------------------------------


def tox_envs() -> set[str]:
    """The environments of tox.ini's env_list, and every [testenv:NAME]."""
    text = (ROOT / "tox.ini").read_text()
    names = set(re.findall(r"^\[testenv:([^\]]+)\]", text, re.M))
    listed = re.search(r"^env_list\s*=\s*\n((?:[ \t]+\S.*\n)+)", text, re.M)
    assert listed, "tox.ini has no env_list"
    for line in listed.group(1).split():
        names |= expand(line)
    return names


def expand(pattern: str) -> set[str]:
    """tox's brace expansion: ``py{310,311}-dj52`` -> py310-dj52, py311-dj52."""
    found = re.search(r"\{([^{}]*)\}", pattern)
    if not found:
        return {pattern}
    head, tail = pattern[: found.start()], pattern[found.end() :]
    return {name for part in found.group(1).split(",") for name in expand(head + part + tail)}  # fmt: skip


def extras() -> set[str]:
    """The extras pyproject.toml declares (tomllib is Python 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+)\s*=", section, re.M))


def commands_of(block: Block) -> list[str]:
    """The commands of a shell block: ``$`` lines in a console, every line else."""
    lines = [line.strip() for line in block.code.splitlines()]
    if any(line.startswith("$ ") for line in lines):
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    return [line for line in lines if line and not line.startswith("#")]


def command_problems(command: str) -> list[str]:
    """What is wrong with one shell command a page shows."""
    found = []
    words = shlex.split(command, comments=True)
    raw = command.split("#", 1)[0].split()
    if words[:2] == ["pip", "install"] or words[1:4] == ["-m", "pip", "install"]:
        for word, written in zip(words, raw, strict=False):
            if "[" in word and not written.startswith(("'", '"')):
                found.append(f"{written}: quote it, zsh reads [...] as a glob")
            if word.startswith(f"{PACKAGE}["):
                named = set(word[len(PACKAGE) + 1 : -1].split(","))
                if named - extras():
                    found.append(f"{word}: no extra {sorted(named - extras())}")
    if words[:2] == ["python3", "run.py"]:
        if len(words) < 3 or words[2] not in run.COMMANDS:
            found.append(f"{command}: run.py has the commands {sorted(run.COMMANDS)}")
        for flag, value in itertools.pairwise(words):
            if flag == "-e" and set(value.split(",")) - tox_envs():
                found.append(f"{command}: no tox environment {value}")
    return found


INLINE_PIP = re.compile(r"``((?:python3? -m )?pip install [^`]+)``")


def test_every_inline_pip_install_quotes_its_extras() -> None:
    found = {
        f"{page}: {command}": command_problems(command)
        for page in sorted(p.name for p in DOCS.glob("*.rst"))
        for command in INLINE_PIP.findall((DOCS / page).read_text())
    }
    assert not {k: v for k, v in found.items() if v}


# -- One test per block -------------------------------------------------------


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser(
        "docs-admin", password="docs-pass"
    )


def check_marked(block: Block, kind: str, argument: str) -> None:
    if kind == "test":
        file, _, name = argument.partition("::")
        source = (ROOT / file).read_text() if (ROOT / file).exists() else ""
        assert source, f"docs/{block.id} names {file}, which does not exist"
        defined = {n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}  # fmt: skip
        assert set(name.split("::")) <= defined, f"{file} defines no {name}"
        assert "tests.docs" in source and block.page in source, (
            f"{file} must run docs/{block.page}'s block, read through tests.docs, not a copy"
        )
    elif kind == "quoted":
        lines = iter(line.strip() for line in (ROOT / argument).read_text().splitlines())  # fmt: skip
        for line in block.code.splitlines():
            if line.strip():
                assert any(line.strip() == other for other in lines), (
                    f"docs/{block.id}: {line.strip()!r} is not in {argument}, in order"
                )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("block", all_blocks(), ids=lambda b: b.id)
def test_block(
    block: Block,
    redis_url: str | None,
    superuser: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_block(block, redis_url, superuser)
    # A check that raises refuses, and logs it: an example must not.
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("async_auth_views")]  # fmt: skip
    assert not logged, f"docs/{block.id} logged {[r.getMessage() for r in logged]}"


def run_block(block: Block, redis_url: str | None, superuser: Any) -> None:
    found = marker(block)
    if found is not None and found[0] == "skip":
        assert len(found[1]) > 10, f"docs/{block.id}: say why it is skipped"
        pytest.skip(found[1])
    if found is not None and found[0] in {"test", "quoted"}:
        check_marked(block, *found)
        return
    if block.language in SHELL:
        assert not [p for c in commands_of(block) for p in command_problems(c)]
        return
    if block.language == "text":
        previous = [b for b in page_blocks(block.page) if b.line < block.line][-1:]
        if previous and (marker(previous[0]) or ("",))[0] == "raises":
            error = run_page(block.page).outcomes[previous[0].line].error
            shown = " ".join(block.code.split())
            assert " ".join(str(error).split()) in shown, (
                f"raised {error}, shown {shown}"
            )
        return
    if block.language not in {"python", "diff"}:
        pytest.fail(f"docs/{block.id}: a {block.language or 'plain'} block: teach tests/test_docs.py or mark it")  # fmt: skip
    if found is not None and found[0] == "raises":
        error = run_page(block.page).outcomes[block.line].error
        assert type(error).__name__ == found[1], f"docs/{block.id} raised {error!r}"
        return
    if block.path and block.path.endswith(("settings.py", "models.py")):
        check_project(block)
    elif is_settings(block):
        exercise_settings(block, redis_url)
    else:
        exercise_code(block, superuser)


# -- Pages that show a project's files ----------------------------------------

PROJECTS: dict[str, str] = {}


def check_project(block: Block) -> None:
    """Settings and models shown as files (``# settings.py``,
    ``# accounts/models.py``) name apps of their own: the page's files and
    settings blocks, in order, make a project (``startproject mysite``'s, with
    getting-started's settings), which is checked and migrated."""
    if block.page not in PROJECTS:
        PROJECTS[block.page] = build_and_check(block.page)
    assert not PROJECTS[block.page], PROJECTS[block.page]


def build_and_check(page: str) -> str:
    """Build ``page``'s project in a temporary folder; what failed, or ''."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="docs-project-") as folder:
        root = Path(folder)
        files: dict[str, str] = {"mysite/urls.py": "urlpatterns = []\n"}
        template = Path(django.__file__).parent / "conf/project_template/project_name/settings.py-tpl"  # fmt: skip
        (first,) = [b for b in page_blocks("getting-started.rst") if is_settings(b)]
        files["mysite/settings.py"] = (
            template.read_text()
            .replace("{{ project_name }}", "mysite")
            .replace("{{ secret_key }}", "docs")
            + "\n"
            + first.code
        )
        for each in page_blocks(page):
            if each.language == "python" and (each.path or is_settings(each)):
                path = each.path or "settings.py"
                where = path if "/" in path else f"mysite/{path}"
                files[where] = files.get(where, "") + "\n" + each.code
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).parent.joinpath("__init__.py").touch()
            (root / name).write_text(text)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings", "PYTHONPATH": os.pathsep.join([folder, str(ROOT)])}  # fmt: skip
        for command in (["check", "--fail-level", "WARNING"], ["makemigrations"], ["migrate"]):  # fmt: skip
            done = subprocess.run(
                [sys.executable, "-m", "django", *command, "--verbosity", "1"],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode:
                return (
                    f"docs/{page}: manage.py {command[0]}:\n{done.stdout}{done.stderr}"
                )
    return ""


PAGE = """Title
=====

Run this::

    python3 run.py demo

.. test: skip: a reason long enough
.. code-block:: python
   :caption: settings.py

    X = 1

    Y = 2

- a list item

  .. code-block:: console

      $ pip install "async-auth-views[channels]"

After.
"""


def test_blocks_are_found_with_their_markers_options_and_nesting() -> None:
    found = parse("page.rst", PAGE)
    assert [(b.line, b.language, b.marker, b.code) for b in found] == [
        (4, "literal", None, "python3 run.py demo\n"),
        (9, "python", "skip: a reason long enough", "X = 1\n\nY = 2\n"),
        (18, "console", None, '$ pip install "async-auth-views[channels]"\n'),
    ]


def test_an_unquoted_extra_and_an_unknown_environment_are_reported() -> None:
    assert command_problems('pip install "async-auth-views[channels]"') == []
    assert command_problems("pip install async-auth-views[channels]")
    assert command_problems('pip install "async-auth-views[nope]"')
    assert command_problems("python3 run.py test -e py399")
    assert command_problems("python3 run.py tests")
    assert command_problems("python3 run.py test -e docs,lint") == []
