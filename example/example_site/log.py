"""Logging for the demo's terminal: one line per refused request, no traceback.

Django logs every ``PermissionDenied`` with its traceback; in the demo a 403
is the expected answer to a user without the permission, not an error.
"""

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """Drop the traceback of ``django.request``'s 403 records; keep the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
