"""The app the docs' examples live in: the models their ``from .models import
...`` lines name, for ``tests/test_docs.py``."""
