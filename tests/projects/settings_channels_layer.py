"""``settings_channels`` with a channel layer, as the docs say."""

from tests.projects.settings_channels import *  # noqa: F403

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
