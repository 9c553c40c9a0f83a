"""
Browser tests of the workbench: Playwright (PyPI) driving Debian's chromium through ``executable_path``
(Playwright's own browser download cannot run here). Skipped, saying why, where chromium or Playwright is
missing; ``.ci/run`` installs chromium. A failing test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest


class _OneRequestAtATime:
    """
    The site, handling one request at a time, on connections the server reads concurrently.

    One request at a time: SQLite takes one writer at a time, and a unit of work per request holds it.
    Connections read concurrently: chromium opens connections ahead of need (preconnects), and a server that
    handled one connection at a time sat waiting on such an idle one while the page's next request queued
    behind it. :meth:`close` waits for the request in hand and refuses later ones, so that nothing the browser
    still sends writes to the database once the test is over.
    """

    def __init__(self) -> None:
        self.application = None
        self.lock = threading.Lock()
        self.closed = False

    def wrap(self, application):
        """LiveServerThread's ``static_handler``: the site serves its own files."""
        self.application = application
        return self

    def __call__(self, environ, start_response):
        with self.lock:
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"The test is over."]
            return self.application(environ, start_response)

    def close(self) -> None:
        with self.lock:
            self.closed = True


CHROMIUM = os.environ.get("LC_RUNTIME_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (PyPI playwright)")
    # Playwright's sync API keeps an event loop running in this thread, and Django then refuses the test's own
    # database calls as "async": this is Django's documented switch for such test tools.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # An earlier test of this process may leave TMPDIR naming a folder gone since (codejail's): chromium needs one.
    if not os.path.isdir(os.environ.get("TMPDIR", "/tmp")):
        os.environ.pop("TMPDIR")
        tempfile.tempdir = None
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context's page; its JavaScript errors are kept on ``page.errors``."""
    context = browser.new_context()
    # Nothing leaves this machine: a block's stylesheet that asks a font service gets nothing.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def workbench_server(transactional_db):
    """The site on the test database, served by Django's live-server thread, one request at a time."""
    from django.test.testcases import LiveServerThread

    site = _OneRequestAtATime()
    thread = LiveServerThread("127.0.0.1", site.wrap, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    thread.url = f"http://127.0.0.1:{thread.port}"
    yield thread
    site.close()
    thread.terminate()
