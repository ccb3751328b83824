"""Our reaction to a committed change does not depend on the project's callbacks.

Django runs a transaction's ``on_commit()`` callbacks in order and stops at the
first one registered without ``robust=True`` that raises: every callback after
it is dropped. A project's callback registered earlier in the transaction (an
audit task whose broker is down) must not drop ours: the identity cache's
second invalidation and the sockets' re-check after the commit. Savepoint and
transaction rollbacks must still discard ours, as they discard any callback,
and ``TestCase.captureOnCommitCallbacks()`` must still capture them.

What runs after the commit is observed three ways: a recorder handed every
change (``identity.subscribe()``, as the sockets are), an entry filled from the
rows as they were before the change (by a request in another connection),
and an open socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import Client, TestCase, TransactionTestCase, override_settings

from async_auth_views import changes
from async_auth_views.channels import CLOSE_FORBIDDEN, PermissionRequiredMixin
from async_auth_views.identity import _changes, _fill
from tests import test_changes
from tests.channels.consumers import ws_consumer
from tests.channels.support import ChannelsTestCase


class BrokerDown(Exception):
    """What a project's on_commit callback raises when its task broker is down."""


def send_audit_task() -> None:
    raise BrokerDown("the audit task could not be queued")


def project_callback() -> None:
    """A project's callback that succeeds."""


class Recorder:
    """Handed every change, as the sockets are (``identity.subscribe()``): the others'
    reactions to a user or everyone changing run only after the commit."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def session_ended(self, session_key: str) -> None:
        self.seen.append(("session_ended", session_key))

    def session_changed(self, session_key: str) -> None:
        self.seen.append(("session_changed", session_key))

    def user_changed(self, user_pk: str) -> None:
        self.seen.append(("user_changed", user_pk))

    def user_deleted(self, user_pk: str) -> None:
        self.seen.append(("user_deleted", user_pk))

    def everyone_changed(self) -> None:
        self.seen.append(("everyone_changed",))


@contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()
    _changes.subscribe("tests.recorder", recorder)
    try:
        yield recorder
    finally:
        _changes._listeners.pop("tests.recorder", None)


class RecordedTestCase(TransactionTestCase):
    """Real commits (a TransactionTestCase), and a recorder of what runs after them."""

    def setUp(self) -> None:
        self.alice = User.objects.create_user("alice")
        recorder = recording()
        self.recorder = recorder.__enter__()
        self.addCleanup(recorder.__exit__, None, None, None)
        self.changed = [("user_changed", str(self.alice.pk))]

    def change_alice(self) -> None:
        self.alice.first_name = "Alice"
        self.alice.save()


class OrderTests(RecordedTestCase):
    def test_a_raising_project_callback_registered_before_ours(self) -> None:
        # The project still gets its error; ours run after the commit.
        with self.assertRaises(BrokerDown), transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.change_alice()
            self.assertEqual(self.recorder.seen, [])
        self.assertEqual(self.recorder.seen, self.changed)

    def test_a_raising_project_callback_in_a_nested_block(self) -> None:
        with self.assertRaises(BrokerDown), transaction.atomic():
            with transaction.atomic():
                transaction.on_commit(send_audit_task)
            with transaction.atomic():
                self.change_alice()
        self.assertEqual(self.recorder.seen, self.changed)

    def test_two_raising_project_callbacks_around_ours(self) -> None:
        with self.assertRaises(BrokerDown), transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.change_alice()
            transaction.on_commit(send_audit_task)
        self.assertEqual(self.recorder.seen, self.changed)

    def test_ours_run_once_and_in_order(self) -> None:
        bob = User.objects.create_user("bob")
        self.recorder.seen.clear()
        with self.assertRaises(BrokerDown), transaction.atomic():
            self.change_alice()
            transaction.on_commit(send_audit_task)
            bob.save()
            changes.everyone_changed()
        self.assertEqual(
            self.recorder.seen,
            [*self.changed, ("user_changed", str(bob.pk)), ("everyone_changed",)],
        )

    def test_a_robust_project_callback_that_raises(self) -> None:
        logs = self.assertLogs("django.db.backends.base", "ERROR")
        with logs, transaction.atomic():
            transaction.on_commit(send_audit_task, robust=True)
            self.change_alice()
        self.assertEqual(self.recorder.seen, self.changed)

    def test_ours_never_stop_the_projects_callbacks(self) -> None:
        ran: list[str] = []

        class Failing(Recorder):
            def user_changed(self, user_pk: str) -> None:
                raise ConnectionError("the layer is down")

        _changes.subscribe("tests.failing", Failing())
        self.addCleanup(_changes._listeners.pop, "tests.failing", None)
        logged = self.assertLogs("async_auth_views.commits", "ERROR")
        with logged as logs, transaction.atomic():
            self.change_alice()
            transaction.on_commit(lambda: ran.append("project"))
        self.assertIn("the layer is down", logs.output[0])
        self.assertEqual(ran, ["project"])

    def test_without_a_transaction_ours_run_at_once(self) -> None:
        self.change_alice()
        self.assertEqual(self.recorder.seen, self.changed)


class RollbackTests(RecordedTestCase):
    """Rollbacks discard ours, as they discard the project's callbacks."""

    def test_a_savepoint_rolled_back_discards_ours(self) -> None:
        ran: list[str] = []
        with transaction.atomic():
            transaction.on_commit(lambda: ran.append("project"))
            try:
                with transaction.atomic():
                    self.change_alice()
                    raise RuntimeError("the view failed")
            except RuntimeError:
                pass
        self.assertEqual(ran, ["project"])
        self.assertEqual(self.recorder.seen, [])

    def test_a_savepoint_rolled_back_with_an_earlier_raising_callback(self) -> None:
        with self.assertRaises(BrokerDown), transaction.atomic():
            transaction.on_commit(send_audit_task)
            try:
                with transaction.atomic():
                    self.change_alice()
                    raise RuntimeError("the view failed")
            except RuntimeError:
                pass
        self.assertEqual(self.recorder.seen, [])

    def test_a_savepoint_released_keeps_ours(self) -> None:
        with self.assertRaises(BrokerDown), transaction.atomic():
            transaction.on_commit(send_audit_task)
            with transaction.atomic():
                self.change_alice()
            self.assertEqual(self.recorder.seen, [])
        self.assertEqual(self.recorder.seen, self.changed)

    def test_the_transaction_rolled_back_discards_ours(self) -> None:
        with self.assertRaises(RuntimeError), transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.change_alice()
            raise RuntimeError("the view failed")
        self.assertEqual(self.recorder.seen, [])

    def test_set_rollback_discards_ours(self) -> None:
        with transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.change_alice()
            transaction.set_rollback(True)
        self.assertEqual(self.recorder.seen, [])

    def test_a_block_without_a_savepoint_rolled_back(self) -> None:
        with self.assertRaises(RuntimeError), transaction.atomic():
            transaction.on_commit(send_audit_task)
            with transaction.atomic(savepoint=False):
                self.change_alice()
                raise RuntimeError("the view failed")
        self.assertEqual(self.recorder.seen, [])

    def test_the_next_transaction_is_not_affected(self) -> None:
        with self.assertRaises(BrokerDown), transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.change_alice()
        self.recorder.seen.clear()
        with transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.change_alice()
            transaction.set_rollback(True)
        self.assertEqual(self.recorder.seen, [])


class AsyncPathTests(RecordedTestCase):
    """Changes made from async code: ``asave()`` and ``changes.*`` calls."""

    def test_changes_called_from_the_event_loop(self) -> None:
        # After QuerySet.aupdate(), as the docs say: no transaction can be
        # open in the event loop's thread, so the change is committed.
        async def deactivate() -> None:
            await User.objects.filter(pk=self.alice.pk).aupdate(is_active=False)
            changes.user_changed(self.alice)
            changes.everyone_changed()
            changes.session_ended("a-session-key")

        async_to_sync(deactivate)()
        self.assertEqual(
            self.recorder.seen,
            [
                *self.changed,
                ("everyone_changed",),
                ("session_ended", "a-session-key"),
            ],
        )

    def test_a_transaction_run_from_async_code(self) -> None:
        @transaction.atomic
        def change() -> None:
            transaction.on_commit(send_audit_task)
            self.change_alice()

        async def view() -> None:
            with self.assertRaises(BrokerDown):
                await sync_to_async(change)()

        async_to_sync(view)()
        self.assertEqual(self.recorder.seen, self.changed)

    def test_asave_in_autocommit(self) -> None:
        async def view() -> None:
            self.alice.first_name = "Alice"
            await self.alice.asave()

        async_to_sync(view)()
        self.assertEqual(self.recorder.seen, self.changed)


@override_settings(**test_changes.IDENTITY)
class IdentityCacheTests(TransactionTestCase):
    """The cache's second invalidation, after the commit: a request in another
    connection that read the rows as they were before the change, while the
    transaction was open, stamped its entry with tokens the first invalidation
    had already replaced."""

    def setUp(self) -> None:
        caches["identity"].clear()
        self.alice = User.objects.create_user("alice")
        client = Client()
        client.force_login(self.alice)
        self.key = client.session.session_key
        self.before = User.objects.get(pk=self.alice.pk)

    def fill_from_before_the_change(self) -> None:
        """Fill the entry as a concurrent request does: the tokens now, the user
        as the committed rows still say."""
        cache = caches["identity"]
        session = SessionStore(self.key)
        stamp = _fill.snapshot(cache, session)
        _fill.remember(cache, session, self.before, stamp)
        self.assertTrue(test_changes.cached(self.key), "the entry was not filled")

    def test_a_raising_project_callback_registered_before_ours(self) -> None:
        with self.assertRaises(BrokerDown), transaction.atomic():
            transaction.on_commit(send_audit_task)
            self.alice.is_active = False
            self.alice.save()
            self.fill_from_before_the_change()
        self.assertFalse(test_changes.cached(self.key))
        self.assertEqual(test_changes.whoami(self.key), (200, "None"))

    def test_without_the_second_invalidation_the_entry_would_be_served(self) -> None:
        # The control: the entry filled in between is served until the commit.
        with transaction.atomic():
            self.alice.first_name = "Alice"
            self.alice.save()
            self.fill_from_before_the_change()
            self.assertTrue(test_changes.cached(self.key))
        self.assertFalse(test_changes.cached(self.key))


class SocketTests(ChannelsTestCase):
    """The sockets' re-check after the commit."""

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_a_raising_project_callback_registered_before_ours(self) -> None:
        permission = await Permission.objects.aget(codename="view_user")
        await self.user.user_permissions.aadd(permission)
        communicator, (connected, _) = await self.open(
            ws_consumer(PermissionRequiredMixin, permission_required="auth.view_user")
        )
        self.assertTrue(connected)

        @transaction.atomic
        def remove_permission() -> None:
            transaction.on_commit(send_audit_task)
            self.user.user_permissions.remove(permission)

        with self.assertRaises(BrokerDown):
            await sync_to_async(remove_permission)()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)


class CaptureOnCommitCallbacksTests(TestCase):
    """``TestCase.captureOnCommitCallbacks()`` captures ours as any callback,
    also with callbacks left from ``setUpTestData()`` (never committed there)."""

    alice: ClassVar[User]

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")
        transaction.on_commit(send_audit_task)  # left pending for the class

    def setUp(self) -> None:
        recorder = recording()
        self.recorder = recorder.__enter__()
        self.addCleanup(recorder.__exit__, None, None, None)

    def test_ours_are_captured_and_executed(self) -> None:
        left = len(connections[DEFAULT_DB_ALIAS].run_on_commit)
        self.assertGreaterEqual(left, 1)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            transaction.on_commit(project_callback)
            self.alice.first_name = "Alice"
            self.alice.save()
        self.assertEqual(len(callbacks), 2)
        self.assertIs(callbacks[0], project_callback)
        self.assertNotIn(send_audit_task, callbacks)
        self.assertEqual(self.recorder.seen, [("user_changed", str(self.alice.pk))])

    def test_ours_are_not_run_without_execute(self) -> None:
        with self.captureOnCommitCallbacks() as callbacks:
            self.alice.first_name = "Alice"
            self.alice.save()
        self.assertEqual(len(callbacks), 1)
        self.assertEqual(self.recorder.seen, [])
        callbacks[0]()
        self.assertEqual(self.recorder.seen, [("user_changed", str(self.alice.pk))])
