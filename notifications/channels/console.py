"""The console channel: every SMS is logged instead of sent, so development needs no provider account.

Each message is also appended as one readable line (Beijing time, masked phone, text) to `SMS_LOG_FILE`
(`instance/sms.log` by default: where a demo's SMS are seen), and, with `SMS_CONSOLE_FILE`, as one JSON line to
that file: tests and benchmarks count deliveries there. Each line is one `write` on a file opened for appending,
so several worker processes can share a file. Phone numbers are masked everywhere: logs are not the place for
residents' numbers.
"""

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from kernel.clock import BEIJING, utcnow
from kernel.privacy import mask_phone
from notifications.channels.base import Outcome, OutgoingSms, SendResult

log = logging.getLogger("grid.notifications.console")


class ConsoleChannel:
    name = "console"

    def __init__(self, path: str | None = None, readable_path: str | None = None) -> None:
        self.path = path
        self.readable_path = readable_path

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ConsoleChannel":
        return cls(config.get("SMS_CONSOLE_FILE"), config.get("SMS_LOG_FILE") or None)

    def send(self, message: OutgoingSms) -> SendResult:
        entry = {
            "message_id": message.message_id,
            "phone": mask_phone(message.phone),
            "template": message.template,
            "text": message.text,
        }
        log.info("sms (console channel, not sent)", extra=entry)
        if self.path:
            _append(self.path, json.dumps(entry, ensure_ascii=False) + "\n")
        if self.readable_path:
            moment = utcnow().astimezone(BEIJING)
            text = " ".join(message.text.split())  # one line per message, whatever the text holds
            _append(self.readable_path, f"{moment:%Y-%m-%d %H:%M:%S}  {entry['phone']}  {text}\n")
        return SendResult(Outcome.SENT, provider_id=f"console-{message.message_id}")


def _append(path: str, line: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
