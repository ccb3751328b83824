"""The auth path's statements, built by the ORM once and run on async connections.

Compiling a query costs many times what running it does; as
``permissions.permission_statement()`` does for the threaded path, each
statement here is compiled once per database and model, with placeholders
for the values of a request, and its rows are converted by the compiler that
built it, as the ORM would convert them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.manager import BaseManager, Manager


class _Arg:
    """The place of a request's value in a compiled statement's parameters."""

    __slots__ = ("field", "index")

    def __init__(self, index: int, field: Any) -> None:
        self.index = index
        self.field = field

    def sql(self) -> RawSQL:
        return RawSQL("%s", (self,))


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]
    #: The compiler that built it, which converts its rows (``results_iter()``).
    compiler: Any

    def bind(self, connection: Any, *values: Any) -> list[Any]:
        """The parameters, with ``values`` prepared by their fields for ``connection``."""
        return [
            p.field.get_db_prep_value(values[p.index], connection)
            if isinstance(p, _Arg)
            else p
            for p in self.params
        ]

    def converted(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """``rows`` as the ORM returns them (each field's ``from_db_value()``)."""
        if not rows:
            return []
        return list(self.compiler.results_iter(results=[rows]))


def _compiled(queryset: QuerySet[Any], using: str) -> Statement:
    compiler = queryset.query.get_compiler(using)
    sql, params = compiler.as_sql()
    return Statement(sql, tuple(params), compiler)


_cache: dict[tuple[Any, ...], Any] = {}


def _once(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    if key not in _cache:
        _cache[key] = build()
    return _cache[key]


def session_row(model: type[Model], using: str) -> Statement:
    """``SessionStore._get_session_from_db()``: the session's data and expiry, if it has not expired."""

    def build() -> Statement:
        key = _Arg(0, model._meta.get_field("session_key"))
        now = _Arg(1, model._meta.get_field("expire_date"))
        queryset = model.objects.filter(  # type: ignore[attr-defined]
            session_key=key.sql(), expire_date__gt=now.sql()
        ).values_list("session_data", "expire_date")
        return _compiled(queryset, using)

    statement: Statement = _once(("session", using, model._meta.label), build)
    return statement


def session_expiry(model: type[Model], using: str) -> Statement:
    """``session_engines.expires_at()``: the stored expiry of a session, expired or not."""

    def build() -> Statement:
        key = _Arg(0, model._meta.get_field("session_key"))
        queryset = model.objects.filter(  # type: ignore[attr-defined]
            session_key=key.sql()
        ).values_list("expire_date")
        return _compiled(queryset, using)

    statement: Statement = _once(("expiry", using, model._meta.label), build)
    return statement


def session_update(model: type[Model], using: str) -> Statement:
    """``obj.save(force_update=True)`` of a session row, as ``Model._do_update()`` runs it."""

    def build() -> Statement:
        from django.db.models.sql import UpdateQuery

        key, data, expiry = (
            model._meta.get_field(name)
            for name in ("session_key", "session_data", "expire_date")
        )
        queryset = model._base_manager.filter(session_key=_Arg(0, key).sql())
        query: Any = queryset.query.chain(UpdateQuery)
        query.add_update_fields(
            [(data, None, _Arg(1, data).sql()), (expiry, None, _Arg(2, expiry).sql())]
        )
        compiler = query.get_compiler(using)
        sql, params = compiler.as_sql()
        return Statement(sql, tuple(params), compiler)

    statement: Statement = _once(("update", using, model._meta.label), build)
    return statement


@dataclass(frozen=True)
class UserStatement:
    """A user manager's ``get(pk=...)``, as ``ModelBackend.get_user()`` runs it."""

    statement: Statement
    init_list: list[str]
    start: int
    end: int
    from_db: Callable[..., Any]
    track_peers: bool

    def users(self, using: str, rows: list[tuple[Any, ...]]) -> list[Any]:
        users = []
        peers: list[Any] = []
        for row in self.statement.converted(rows):
            user = self.from_db(using, self.init_list, row[self.start : self.end])
            if self.track_peers:
                import weakref

                peers.append(weakref.ref(user))
                user._state.peers = peers
            users.append(user)
        return users


def _plain(queryset: Any) -> bool:
    """Whether ``queryset`` builds model instances from its own columns only.

    A queryset that also reads related rows, annotations, deferred fields or
    anything else ``ModelIterable`` would add is not reproduced: the caller
    takes the thread hop.
    """
    from django.db.models.query import ModelIterable

    if type(queryset) is not QuerySet:
        return False
    made: Any = queryset
    query = made.query
    return (
        made._iterable_class is ModelIterable
        and not made._prefetch_related_lookups
        and not made._known_related_objects
        and made._fields is None
        and query.select_related is False
        and not query.annotations
        and not query.extra
        and query.deferred_loading == (frozenset(), True)
        and query.combinator is None
        and not query.distinct
        and query.low_mark == 0
        and query.high_mark is None
    )


def manager_queryset_is_fixed(manager: Any) -> bool:
    """Whether ``manager``'s queryset is Django's own, the same on every call."""
    return type(manager).get_queryset is BaseManager.get_queryset


def user_statement(manager: Any, using: str) -> UserStatement | None:
    """``manager.get(pk=...)`` compiled, or None when it cannot be reproduced.

    A manager that overrides ``get()``, or a queryset class of its own, is not
    reproduced. A manager whose ``get_queryset()`` is its own is compiled on
    each call (its filters may vary); Django's is compiled once.
    """
    if type(manager).get is not Manager.get:
        return None
    fixed = manager_queryset_is_fixed(manager)
    key = ("user", using, manager.model._meta.label, type(manager))
    if fixed and key in _cache:
        found: UserStatement | None = _cache[key]
        return found
    built = _build_user_statement(manager, using)
    if fixed:
        _cache[key] = built
    return built


def _build_user_statement(manager: Any, using: str) -> UserStatement | None:
    queryset = manager.get_queryset()
    if not _plain(queryset):
        return None
    model = queryset.model
    pk = _Arg(0, model._meta.pk)
    queryset = queryset.filter(pk=pk.sql()).order_by()
    queryset.query.set_limits(
        high=2
    )  # get() reads enough rows to tell one from several
    statement = _compiled(queryset, using)
    compiler = statement.compiler
    klass_info = compiler.klass_info
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in compiler.select[start:end]]
    fetch_mode = getattr(queryset, "_fetch_mode", None)
    from_db: Callable[..., Any] = klass_info["model"].from_db
    track_peers = False
    if fetch_mode is not None:  # Django 6.1's fetch modes
        from django.db.models import query as query_module

        from_db = query_module._get_from_db(klass_info["model"], fetch_mode)  # type: ignore[attr-defined]
        track_peers = bool(fetch_mode.track_peers)
    return UserStatement(statement, init_list, start, end, from_db, track_peers)


def group_names(user_model: type[Model], using: str) -> Statement | None:
    """``user.groups.values_list("name")`` compiled once, or None when the
    group model's default manager is not Django's own."""

    def build() -> Statement | None:
        field: Any = user_model._meta.get_field("groups")
        manager = field.related_model._default_manager
        if not manager_queryset_is_fixed(manager):
            return None
        queryset = manager.get_queryset()
        if type(queryset) is not QuerySet:
            return None
        user_id = _Arg(0, user_model._meta.pk)
        queryset = queryset.filter(
            **{f"{field.related_query_name()}__pk": user_id.sql()}
        ).values_list("name")
        return _compiled(queryset, using)

    statement: Statement | None = _once(
        ("groups", using, user_model._meta.label), build
    )
    return statement


def first_column(statement: Statement, rows: list[tuple[Any, ...]]) -> list[Any]:
    return [row[0] for row in statement.converted(rows)]


__all__ = [
    "Statement",
    "UserStatement",
    "first_column",
    "group_names",
    "manager_queryset_is_fixed",
    "session_expiry",
    "session_row",
    "session_update",
    "user_statement",
]
