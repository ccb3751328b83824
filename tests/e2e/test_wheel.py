"""A new user's first hour: a project built from the wheel by following the docs.

The wheel is built from this tree and installed, with its ``channels`` and
``rest`` extras, uvicorn, daphne and channels_redis, into a fresh virtualenv.
``django-admin startproject`` makes the project, and the pages' own blocks
(taken from ``docs/``, never copied) make the rest: the settings and the view
of :doc:`getting-started`, the ``asgi.py``, the consumers and the channel
layer of :doc:`channels`, the REST framework settings of :doc:`integrations`.
What the docs leave to Django's own documentation (the URLconf, a login
template, a view and API views behind a permission, the users) is written
here, in ``GLUE``. The project is served by uvicorn and by daphne at once,
on one SQLite database and one ``redis-server``, and each is driven over HTTP
(httpx) and WebSocket (websockets) as a browser would.

Runs where ``ASYNC_AUTH_WHEEL_TEST=1`` (``tox -e wheel``): building and
installing takes a minute or so the first time, seconds with pip's cache.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from devtools import servers
from devtools.servers import Server
from tests.docs import block

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("ASYNC_AUTH_WHEEL_TEST"),
        reason="builds and installs the wheel: set ASYNC_AUTH_WHEEL_TEST=1 (tox -e wheel)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
#: What the new user installs beside the wheel and its extras (uvicorn serves
#: WebSockets only with a WebSocket library: its "standard" extra).
ALSO_INSTALLED = ["uvicorn[standard]", "daphne", "channels-redis"]
#: The address the docs' CHANNEL_LAYERS name, replaced by the test's server.
DOCS_REDIS = "redis://127.0.0.1:6379/0"
SERVERS = ("uvicorn", "daphne")
#: The identity cache of identity-cache.rst, on as the page sets it, and off.
CACHE = {"cache": {}, "no-cache": {"WITHOUT_IDENTITY_CACHE": "1"}}
#: Each server, with and without the cache: its own users (their names end
#: with it), so one run's logout and revocation touch no other's.
SITES = [f"{server}-{cache}" for server in SERVERS for cache in CACHE]
PASSWORD = "a-long-test-password"
SETTINGS = "mysite.settings"
APP = "mysite.asgi:application"

#: What the docs leave to Django's own docs, written as a user would.
GLUE = {
    "templates/registration/login.html": (
        '<form method="post">{% csrf_token %}{{ form }}<button>Log in</button></form>\n'
    ),
    "mysite/more_views.py": """\
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.views import View
from adrf.views import APIView
from rest_framework.response import Response

from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.rest_framework import DjangoModelPermissions, IsAuthenticated


class Reports(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "auth.view_group"

    async def get(self, request):
        return HttpResponse("reports")


class WhoAmI(APIView):
    permission_classes = [IsAuthenticated]

    async def get(self, request):
        return Response({"user": request.user.get_username()})


class Groups(APIView):
    permission_classes = [DjangoModelPermissions]
    queryset = Group.objects.all()

    async def post(self, request):
        group = await Group.objects.acreate(name=request.data["name"])
        return Response({"name": group.name}, status=201)
""",
    "mysite/urls.py": """\
from django.contrib import admin
from django.urls import include, path

from mysite.more_views import Groups, Reports, WhoAmI
from mysite.views import Profile

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("profile/", Profile.as_view()),
    path("reports/", Reports.as_view()),
    path("api/whoami/", WhoAmI.as_view()),
    path("api/groups/", Groups.as_view()),
]
""",
}
GLUE_SETTINGS = """
# Where the login template is, and where a login lands.
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]
LOGIN_REDIRECT_URL = "/profile/"

# The test serves the project with the identity cache, and without.
if os.environ.get("WITHOUT_IDENTITY_CACHE"):
    ASYNC_AUTH_IDENTITY_CACHE = None
"""
# For each server, alice may do everything the project protects, bob nothing.
USERS = f"""
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType

chat = ContentType.objects.get_or_create(app_label="chat", model="room")[0]
Permission.objects.get_or_create(codename="moderate", content_type=chat, defaults={{"name": "Can moderate"}})
perms = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in [("chat", "moderate"), ("auth", "view_group"), ("auth", "add_group")]]
readers = Group.objects.get_or_create(name="readers")[0]
for site in {SITES!r}:
    alice = User.objects.create_user(f"alice-{{site}}", password={PASSWORD!r})
    alice.groups.add(readers)
    alice.user_permissions.add(*perms)
    User.objects.create_user(f"bob-{{site}}", password={PASSWORD!r})
"""


def run(*args: object, cwd: Path = ROOT) -> str:
    """Run a command; fail the test with its output if it fails."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONPATH": ""}
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode:
        pytest.fail(
            f"{' '.join(map(str, args))} failed:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wheel")


@pytest.fixture(scope="module")
def python(scratch: Path) -> Path:
    """A fresh virtualenv with the wheel of this tree and what the user adds."""
    source = scratch / "source"  # a copy: setuptools builds in the tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(
        ROOT / "async_auth_views",
        source / "async_auth_views",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    dist = scratch / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, source)  # fmt: skip
    (wheel,) = dist.glob("async_auth_views-*.whl")
    env = scratch / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", f"{wheel}[channels,rest]", *ALSO_INSTALLED)  # fmt: skip
    return python


@pytest.fixture(scope="module")
def project(python: Path, scratch: Path) -> Path:
    """``startproject``, then the docs' blocks, then the glue.

    Its channel layer reads the address of ``served``'s Redis from the
    environment."""
    where = scratch / "project"
    where.mkdir()
    run(python, "-m", "django", "startproject", "mysite", where)
    layer = block("channels.rst", "channels_redis.core.RedisChannelLayer").code
    cache = block("identity-cache.rst", "ASYNC_AUTH_IDENTITY_CACHE =").code
    for code in (layer, cache):
        assert f'"{DOCS_REDIS}"' in code, "the docs' Redis moved: update DOCS_REDIS"
    settings = where / "mysite" / "settings.py"
    settings.write_text(
        "\n\n".join(
            [
                settings.read_text() + "import os\n",
                block("getting-started.rst", "INSTALLED_APPS +=").code,
                layer.replace(f'"{DOCS_REDIS}"', 'os.environ["REDIS_URL"]'),
                cache.replace(f'"{DOCS_REDIS}"', 'os.environ["REDIS_URL"]'),
                block("integrations.rst", '"rest_framework"').code,
                GLUE_SETTINGS,
            ]
        )
    )
    (where / "mysite" / "views.py").write_text(
        block("getting-started.rst", "class Profile").code
    )
    (where / "mysite" / "asgi.py").write_text(block("channels.rst", "# asgi.py").code)
    (where / "chat").mkdir()
    (where / "chat" / "__init__.py").write_text("")
    (where / "chat" / "consumers.py").write_text(
        block("channels.rst", "class ChatConsumer").code
        + "\n\n"
        + block("channels.rst", "class ModeratorConsumer").code
    )
    for path, text in GLUE.items():
        (where / path).parent.mkdir(parents=True, exist_ok=True)
        (where / path).write_text(text)
    return where


@pytest.fixture(scope="module")
def served(python: Path, project: Path, scratch: Path) -> Iterator[dict[str, Server]]:
    """The project under uvicorn and under daphne, on one database and one Redis."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    with ExitStack() as stack:
        redis = stack.enter_context(servers.redis(log_path=scratch / "redis.log"))
        env = {"REDIS_URL": redis.url, "PYTHONPATH": ""}
        os.environ["REDIS_URL"] = redis.url  # for manage.py, in run()
        stack.callback(os.environ.pop, "REDIS_URL", None)
        manage = project / "manage.py"
        run(python, manage, "check", "--fail-level", "WARNING", cwd=project)
        run(python, manage, "migrate", "--noinput", "--verbosity", "0", cwd=project)
        run(python, manage, "shell", "--command", USERS, cwd=project)
        found = run(python, "-c", "import async_auth_views; print(async_auth_views.__file__)", cwd=project)  # fmt: skip
        assert found.startswith(str(scratch / "venv")), found
        started = {}
        for site in SITES:
            name, cache = site.split("-", 1)
            starter = servers.uvicorn if name == "uvicorn" else servers.daphne
            options = ["--lifespan", "off"] if name == "uvicorn" else []
            started[site] = stack.enter_context(
                starter(
                    APP,
                    cwd=project,
                    settings=SETTINGS,
                    env={**env, **CACHE[cache]},
                    ready_path="/accounts/login/",
                    options=options,
                    log_path=scratch / f"{site}.log",
                    python=python,
                )
            )
        yield started


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    """Log in through Django's login page, as a browser does."""
    await client.get("/accounts/login/")
    response = await client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/profile/"


def connect(
    server: Server, path: str, client: httpx.AsyncClient | None = None
) -> ws_connect:
    """Open a socket with the browser's cookies and ``Origin``."""
    headers = {}
    if client is not None:
        headers["Cookie"] = f"sessionid={client.cookies['sessionid']}"
    return ws_connect(
        server.url.replace("http://", "ws://") + path,
        origin=server.url,  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=10,
    )


async def close_code(ws: ClientConnection) -> int | None:
    """The code the server closes ``ws`` with, within 5 s."""
    await asyncio.wait_for(ws.wait_closed(), 5)
    return ws.close_code


async def refused(server: Server, path: str, client: httpx.AsyncClient | None) -> int:
    """The HTTP status of a refused handshake."""
    with pytest.raises(InvalidStatus) as error:
        async with connect(server, path, client):
            pass
    return error.value.response.status_code


async def drive(site: str, server: Server, project: Path, python: Path) -> None:
    alice, bob = f"alice-{site}", f"bob-{site}"
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as anonymous,
        httpx.AsyncClient(base_url=server.url, timeout=10) as a,
        httpx.AsyncClient(base_url=server.url, timeout=10) as b,
    ):
        # Anonymous: the login page, with next; the API and the sockets refuse.
        response = await anonymous.get("/profile/")
        assert response.status_code == 302
        assert response.headers["location"] == "/accounts/login/?next=/profile/"
        assert (await anonymous.get("/api/whoami/")).status_code == 403
        assert await refused(server, "/ws/chat/", None) == 403

        # Logged in: permitted, and forbidden.
        await log_in(a, alice)
        await log_in(b, bob)
        response = await a.get("/profile/")
        assert (response.status_code, response.text) == (200, f"{alice}: readers")
        assert (await a.get("/reports/")).status_code == 200
        assert (await b.get("/reports/")).status_code == 403

        # The API, behind the library's DRF permission classes.
        assert (await a.get("/api/whoami/")).json() == {"user": alice}
        post = {"headers": {"X-CSRFToken": ""}, "json": {"name": f"team-{site}"}}
        post["headers"]["X-CSRFToken"] = b.cookies["csrftoken"]
        assert (await b.post("/api/groups/", **post)).status_code == 403
        post["headers"]["X-CSRFToken"] = a.cookies["csrftoken"]
        assert (await a.post("/api/groups/", **post)).status_code == 201

        # Sockets: served when permitted, refused when forbidden.
        assert await refused(server, "/ws/moderate/", b) == 403
        async with connect(server, "/ws/chat/", a) as chat:
            await chat.send('{"text": "hello"}')
            reply = await asyncio.wait_for(chat.recv(), 5)
            assert reply == f'{{"from": "{alice}", "text": "hello"}}'

            # A permission taken away, in another process: 4403.
            async with connect(server, "/ws/moderate/", a) as moderate:
                take_away = (
                    "from django.contrib.auth.models import Permission, User\n"
                    f"user = User.objects.get(username={alice!r})\n"
                    "user.user_permissions.remove(Permission.objects.get(codename='moderate'))\n"
                )
                manage = (
                    python,
                    project / "manage.py",
                    "shell",
                    "--command",
                    take_away,
                )
                await asyncio.to_thread(run, *manage, cwd=project)
                assert await close_code(moderate) == 4403

            # Logged out over HTTP: the open socket is closed with 4401.
            logout = await a.post(
                "/accounts/logout/", headers={"X-CSRFToken": a.cookies["csrftoken"]}
            )
            assert logout.status_code in {200, 302}, logout.text
            assert await close_code(chat) == 4401
        response = await a.get("/profile/")
        assert response.status_code == 302


@pytest.mark.parametrize("site", SITES)
def test_the_getting_started_project_from_the_wheel(
    site: str, served: dict[str, Server], project: Path, python: Path
) -> None:
    server = served[site]
    try:
        asyncio.run(drive(site, server, project, python))
    except BaseException:
        print(f"--- {server.name} log ---\n{server.log()}")
        raise
