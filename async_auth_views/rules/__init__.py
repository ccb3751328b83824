"""The access rules: each decided once, with its sync and async decision side by side.

``_hooks`` holds the attributes and hooks a rule reads (Django's names);
``_decisions`` the rules themselves. See docs/internals.rst.
"""

from ._decisions import (
    ANSWER_HOOKS,
    AnonymousRule,
    Denial,
    GroupRule,
    LoginRule,
    PassesTestRule,
    PermissionRule,
    RecentLoginRule,
    Rule,
    StaffuserRule,
    SuperuserRule,
    UserRule,
    anonymous_rule,
    answer,
    denial_for,
    group_rule,
    login_rule,
    owner_for,
    permission_rule,
    recent_login_rule,
    staff_rule,
    superuser_rule,
    test_rule,
)
from ._hooks import (
    AccessHooks,
    AnonymousHooks,
    GroupHooks,
    PassesTestHooks,
    PermissionHooks,
    RecentLoginHooks,
    misplaced_mixin,
)

# The old names, until the consumer mixins are switched.
Refusal = Denial
refusal_for = denial_for
wrong_door = misplaced_mixin
login = login_rule
permissions = permission_rule
passes_test = test_rule
groups = group_rule
superuser = superuser_rule
staffuser = staff_rule

__all__ = [
    "ANSWER_HOOKS",
    "AccessHooks",
    "AnonymousHooks",
    "AnonymousRule",
    "Denial",
    "GroupHooks",
    "GroupRule",
    "LoginRule",
    "PassesTestHooks",
    "PassesTestRule",
    "PermissionHooks",
    "PermissionRule",
    "RecentLoginHooks",
    "RecentLoginRule",
    "Rule",
    "StaffuserRule",
    "SuperuserRule",
    "UserRule",
    "anonymous_rule",
    "answer",
    "denial_for",
    "group_rule",
    "login_rule",
    "misplaced_mixin",
    "owner_for",
    "permission_rule",
    "recent_login_rule",
    "staff_rule",
    "superuser_rule",
    "test_rule",
]
