"""The console channel: every SMS is logged instead of sent, so development needs no provider account.

With `SMS_CONSOLE_FILE` each message is also appended to that file as one JSON line (one `write` on a file
opened for appending, so several worker processes can share it): tests and benchmarks count deliveries there.
Phone numbers are masked in both places: logs are not the place for residents' numbers.
"""

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from kernel.privacy import mask_phone
from notifications.channels.base import Outcome, OutgoingSms, SendResult

log = logging.getLogger("grid.notifications.console")


class ConsoleChannel:
    name = "console"

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ConsoleChannel":
        return cls(config.get("SMS_CONSOLE_FILE"))

    def send(self, message: OutgoingSms) -> SendResult:
        entry = {
            "message_id": message.message_id,
            "phone": mask_phone(message.phone),
            "template": message.template,
            "text": message.text,
        }
        log.info("sms (console channel, not sent)", extra=entry)
        if self.path:
            self._append(json.dumps(entry, ensure_ascii=False) + "\n")
        return SendResult(Outcome.SENT, provider_id=f"console-{message.message_id}")

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # type: ignore[arg-type]
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
