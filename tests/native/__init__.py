"""Native mode (``async_auth_views.native``, ``async_auth_views.identity._native``): the auth path on django-async-backend.

These tests run where the suite's database is served by django-async-backend's
engine (``python -m devtools.servers postgresql --scheme postgresql+async --
pytest``, tox's ``py312-dj61-native``) and are skipped elsewhere.
"""
