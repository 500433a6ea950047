"""Channels that carry a notification out: SMS providers and the console (see base.Channel).

`SMS_CHANNEL` names the one in use: `console` (the default: logs, so a fresh machine runs without an account),
`http` (any gateway), `aliyun` or `tencent`. Each lives in a module of this package whose channel class builds
itself with `from_config(config: Mapping[str, Any]) -> Channel` (raising ValueError for a missing setting); the
module is imported only when it is configured, so the providers' SDKs (requirements-sms.txt) are needed only
where they are used.

The channel is built once per app and kept in its `ChannelSlot` among the app's caches (`kernel.caches`), so it is
forgotten with them; tests put a fake in the slot.
"""

import importlib
from collections.abc import Mapping
from typing import Any, Final

from flask import current_app

from kernel.caches import app_cache
from notifications.channels.base import Channel

CACHE_NAME: Final = "sms_channel"
# SMS_CHANNEL value: (module, channel class).
CHANNELS: Final[Mapping[str, tuple[str, str]]] = {
    "console": ("notifications.channels.console", "ConsoleChannel"),
    "http": ("notifications.channels.http", "HttpChannel"),
    "aliyun": ("notifications.channels.aliyun", "AliyunSmsChannel"),
    "tencent": ("notifications.channels.tencent", "TencentSmsChannel"),
}


class ChannelConfigError(RuntimeError):
    """The configured channel cannot be built: an unknown name, a missing setting or a missing SDK."""


class ChannelSlot:
    """Where the app's channel is kept once built; `clear()` forgets it, so the next use builds it again."""

    def __init__(self) -> None:
        self.channel: Channel | None = None

    def clear(self) -> None:
        self.channel = None


def channel_slot() -> ChannelSlot:
    """The current app's slot for its SMS channel."""
    return app_cache(CACHE_NAME, ChannelSlot)


def sms_channel() -> Channel:
    """The app's SMS channel, built from its config on first use."""
    slot = channel_slot()
    if slot.channel is None:
        slot.channel = create_channel(current_app.config)
    return slot.channel


def create_channel(config: Mapping[str, Any]) -> Channel:
    """Build the channel `SMS_CHANNEL` names; ChannelConfigError says what is wrong."""
    name = str(config.get("SMS_CHANNEL") or "console")
    if name not in CHANNELS:
        raise ChannelConfigError(f"SMS_CHANNEL={name!r} is not one of {', '.join(CHANNELS)}.")
    module_name, class_name = CHANNELS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ChannelConfigError(
            f"SMS_CHANNEL={name!r} needs a package that is not installed ({error.name}): "
            "pip install -r requirements-sms.txt"
        ) from error
    try:
        return getattr(module, class_name).from_config(config)  # type: ignore[no-any-return]
    except ValueError as error:
        raise ChannelConfigError(str(error)) from error
