"""The access rules: each decided once, with its sync and async decision side by side.

``_hooks`` holds the attributes and hooks a rule reads (Django's names);
``_decisions`` the rules themselves. See docs/internals.rst.
"""

from ..deprecation import renamed
from ._decisions import (
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
    denial_for,
    group_rule,
    login_rule,
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
    aholds_permissions,
    holds_permissions,
    misplaced_mixin,
)

__all__ = [
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
    "aholds_permissions",
    "anonymous_rule",
    "denial_for",
    "group_rule",
    "holds_permissions",
    "login_rule",
    "misplaced_mixin",
    "permission_rule",
    "recent_login_rule",
    "staff_rule",
    "superuser_rule",
    "test_rule",
]

#: The names 0.1 published, renamed so that none shadows a sibling module.
__getattr__ = renamed(
    __name__,
    {
        "Refusal": "Denial",
        "refusal_for": "denial_for",
        "login": "login_rule",
        "permissions": "permission_rule",
        "passes_test": "test_rule",
        "groups": "group_rule",
        "superuser": "superuser_rule",
        "staffuser": "staff_rule",
        "recent_login": "recent_login_rule",
        "anonymous": "anonymous_rule",
    },
    globals(),
)
