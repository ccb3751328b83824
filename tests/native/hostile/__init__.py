"""A hostile-but-legal project, resolved natively: a UUID primary key, groups
through an explicit membership model, a default manager that hides rows, and
backends that refuse expired accounts or ask the database.

Run on its own settings: ``pytest tests/native/hostile --ds=tests.native.hostile.settings``.
"""
