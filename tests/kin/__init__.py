"""Kin of auth's models (proxies and multi-table children), in an app of their own.

Models inheriting from ``django.contrib.auth``'s need migrations, which the
shared ``tests`` app does not have.
"""
