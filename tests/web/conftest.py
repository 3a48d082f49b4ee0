"""The browser test harness: a real `dangol` app served by uvicorn on 127.0.0.1 (in a
thread), driven by a real headless Chromium (Debian's `chromium` and `chromium-driver`,
through Selenium). One server and one browser per test session; each test signs its own
member in.

Without Chromium the browser tests skip, saying how to get it; under CI (`CI` set) they
fail instead. `DANGOL_SCREENSHOTS=<dir>` saves the tests' screenshots there (the README's
come from `DANGOL_SCREENSHOTS=docs/screenshots`)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from dangol.api import create_app
from dangol.service.container import Services
from dangol.service.programs import Scope

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
HOW_TO_GET_CHROMIUM = ("the browser tests need Chromium and its driver: on Debian or Ubuntu, "
                       "'sudo apt-get install chromium chromium-driver' (.ci/run installs them)")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = os.environ.get("DANGOL_SCREENSHOTS")


@dataclass
class ShiftedClock:
    """The real time, moved on by tests that need a link or session to expire."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@dataclass
class Served:
    base_url: str
    services: Services
    clock: ShiftedClock
    key: str  # a read/write key of the program

    def api(self, method: str, path: str, body: Any = None, idempotency_key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or os.urandom(8).hex()
        return httpx.request(method, self.base_url + path, json=body, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from .seed import seed_program

    directory = tmp_path_factory.mktemp("web")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DANGOL_LOG_KEY", str(directory / "log.key"))
        env.setenv("DANGOL_DATA_KEY_FILE", str(directory / "data.key"))
        clock = ShiftedClock()
        services = Services.open(f"sqlite:///{directory / 'web.db'}", clock)  # type: ignore[arg-type]
        seed_program(services)
        key = services.programs.create_api_key("market", {Scope.READ, Scope.WRITE}, "web tests")[1]
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(services, serving=True), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        yield Served(f"http://127.0.0.1:{port}", services, clock, key)
        server.should_exit = True
        thread.join(10)
        services.db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_GET_CHROMIUM)
        pytest.skip(HOW_TO_GET_CHROMIUM)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=412,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ko-KR,ko,en-US,en"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: Any, web_server: Served) -> Iterator[Any]:
    """The browser with no cookies and Korean asked first (the demo's members), for one test."""
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()


@pytest.fixture
def screenshot(browser: Any) -> Callable[[str], None]:
    def save(name: str) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))
    return save


def assert_accessible(browser: Any) -> None:
    """axe-core's WCAG checks on the page as shown: no serious or critical violation."""
    browser.execute_script(AXE.read_text())
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))), e => done([{id: 'axe failed', impact: 'critical',"
        " help: String(e), nodes: []}]));")
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
