"""Browser tests: the app served on a free port in a thread, driven by Debian's Chromium through Playwright.

Each test gets a fresh browser context (Chinese, 1280×800) and fails if the page logged a console error it did
not expect. `SCREENSHOTS_DIR` (set by `make screenshots`) says where the pages' PNGs go; else a temporary folder.
"""

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from demo.seed import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PORTS = range(8200, 8300)  # the live servers' range on the shared machine
VIEWPORT = {"width": 1280, "height": 800}
CATALOGUE = Path(__file__).parents[2] / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8200-8299")


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The test app served over HTTP (threads), as `make run` serves it, on the tests' database."""
    assert CATALOGUE.exists(), "the catalogue is not compiled: `make test` compiles it (tests/conftest.py too)"
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    assert os.access(CHROMIUM, os.X_OK), "Chromium is missing: `make chromium` installs it"
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class ConsoleLog:
    """What the page logged as errors; a test names the failed responses it expects (a refused action's 409)."""

    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def unexpected(self) -> list[str]:
        allowed = [f"status of {status} " for status in self.expected_statuses]
        return [error for error in self.errors if not any(mark in error for mark in allowed)]


@pytest.fixture
def console_log() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser, live_server: str, console_log: ConsoleLog) -> Iterator[object]:
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport=VIEWPORT, accept_downloads=True, timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(10_000)
    opened = context.new_page()
    opened.on(
        "console",
        lambda message: (
            message.type == "error" and console_log.errors.append(f"{message.text} at {message.location.get('url')}")
        ),
    )
    opened.on("pageerror", lambda error: console_log.errors.append(f"uncaught: {error}"))
    yield opened
    context.close()
    assert console_log.unexpected() == [], "the page logged errors"


@pytest.fixture
def demo(app: Flask) -> None:
    """The demo district `make run` seeds (logins with DEMO_PASSWORD, tickets at several stages, a party layer)."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "demo district seeded" in result.output, result.output


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/console/login" not in url)
    page.wait_for_selector("body[data-ready=true]")
