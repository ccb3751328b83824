"""Django authentication that works in async views and Channels consumers."""

__version__ = "0.1.0"
