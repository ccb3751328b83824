"""A project that serves HTTP only: Channels is installed (another package needs
it) but neither configured nor used, so there is no channel layer to warn about."""

from tests.projects.base import *  # noqa: F403
