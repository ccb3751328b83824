"""Small projects the tests run in their own process, each as a user would set it up.

One settings module per kind of project (``settings_*.py``), sharing
``base.py``; ``asgi.py`` serves the Channels ones; ``doors.py`` tries every
door of the library in whichever project ``DJANGO_SETTINGS_MODULE`` names.
``tests/projects/run.py`` starts them from the tests.
"""
