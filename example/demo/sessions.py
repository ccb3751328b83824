"""Ending every session of a user: Django has a logout for one session only."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db.models import Model
from django.utils import timezone


def delete_sessions_of(user: Model) -> int:
    """Delete the user's unexpired database sessions; return how many there were.

    The user's id is inside each session's encoded data, so every live session
    is decoded: fine for a demo. A site with many sessions would record the
    session keys of each user at login instead.
    """
    user_id = str(user.pk)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now())
        if session.get_decoded().get(SESSION_KEY) == user_id
    ]
    Session.objects.filter(session_key__in=keys).delete()
    return len(keys)
