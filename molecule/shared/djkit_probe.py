"""Helpers the scenarios' testinfra tests share: reaching a target's published ports from the
controller, and asking the target's own tools (the manage wrapper) as root."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests
import urllib3

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[2]))
ARTIFACTS = PROJECT / "artifacts"

# The targets use the kit's self-signed certificate.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

T = TypeVar("T")


def eventually(check: Callable[[], T], seconds: float = 30, step: float = 0.5) -> T:
    """`check()`'s value as soon as it is true, else its last value after `seconds`: for what
    the server does a moment later (a journal line, a listener, a ban), on a machine whose
    load decides how long that moment is."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def published_port(container: str, port: int) -> int:
    out = subprocess.run(
        [str(PROJECT / "tools" / "fresh-server"), "port", container, str(port)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


@dataclass
class Site:
    """One target as a client on the controller sees it, through nginx only."""

    name: str
    https_port: int
    http_port: int

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def session(self) -> requests.Session:
        s = requests.Session()
        # Only 127.0.0.1 is ever the target: no proxy, and no CA bundle from the environment
        # (which would otherwise override verify=False for the self-signed certificate).
        s.trust_env = False
        s.verify = False
        return s

    @contextmanager
    def tls(
        self, context: ssl.SSLContext | None = None, name: str = "localhost"
    ) -> Iterator[ssl.SSLSocket]:
        """A TLS connection to the site's HTTPS port asking for `name` (SNI: without one the
        handshake is the default server's), with `context` (default: no verification, as the
        session's); the handshake's ssl.SSLError is the caller's."""
        if context is None:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with (
            socket.create_connection(("127.0.0.1", self.https_port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            yield tls

    def csrf_post(self, session: requests.Session, path: str, data: dict) -> requests.Response:
        """A form post as a browser sends it: the home page's CSRF token, Origin, Referer."""
        page = session.get(f"{self.base}/", timeout=10)
        page.raise_for_status()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, "the page has no CSRF token in its note form"
        return session.post(
            f"{self.base}{path}",
            data={**data, "csrfmiddlewaretoken": match.group(1)},
            headers={"Origin": self.base, "Referer": f"{self.base}/"},
            allow_redirects=False,
            timeout=10,
        )

    def csrf_post_note(self, session: requests.Session, text: str) -> requests.Response:
        return self.csrf_post(session, "/notes/", {"text": text})

    def queue_digest(self, pause: float = 0) -> str:
        """The sample's background job queued through the site; its id."""
        queued = self.csrf_post(self.session(), "/digests/", {"pause": str(pause)})
        assert queued.status_code == 202, queued.text[:500]
        return queued.json()["id"]

    def digest(self, job: str, until: str = "SUCCESSFUL", seconds: float = 60) -> dict:
        """The job as the site reports it, once its status is `until` (or the last seen)."""
        deadline = time.monotonic() + seconds
        while True:
            found = self.session().get(f"{self.base}/digests/{job}", timeout=10).json()
            if found["status"] == until or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def site_for(container: str) -> Site:
    return Site(container, published_port(container, 443), published_port(container, 80))


def reachable(src, address: str, port: int) -> bool:
    """Can testinfra host `src` open a TCP connection to address:port? (A firewall drop
    times out: False.)"""
    probe = (
        "python3 -c 'import socket, sys; s = socket.socket(); s.settimeout(3); "
        "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))))' {} {}"
    )
    return src.run(probe.format(address, port)).rc == 0


def inventory_host(name: str):
    """The testinfra host of another instance of the scenario (tests that span hosts)."""
    import testinfra

    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


def host_fixture(name: str, fixture_name: str):
    """A session-scoped fixture, `fixture_name`, for the scenario's instance `name`."""
    import pytest

    @pytest.fixture(scope="session", name=fixture_name)
    def fixture():
        return inventory_host(name)

    return fixture


class Load:
    """A bounded load through nginx from the controller: a few threads send GET requests at
    no more than `rate` per second in all, until stopped, for at most `seconds` and
    `max_requests`. Connection errors and 5xx responses count as failed.

    With `fresh_connections`, every request opens its own connection (Connection: close).
    Tests that reload nginx use it: a reload closes idle keep-alive connections, and a client
    that sends on one at that instant finds it closed, which HTTP clients (browsers, urllib3
    with retries) answer by retrying the request; counting that would measure the client."""

    def __init__(
        self,
        url: str,
        threads: int = 4,
        rate: float = 50,
        seconds: float = 240,
        max_requests: int = 20000,
        fresh_connections: bool = False,
    ):
        import threading

        self.url, self.deadline = url, time.monotonic() + seconds
        self.max_requests = max_requests
        self.headers = {"Connection": "close"} if fresh_connections else {}
        self.interval = threads / rate
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            started = time.monotonic()
            with self._lock:
                if self.ok + self.failed >= self.max_requests:
                    return
            error = self._request()
            with self._lock:
                if error:
                    self.failed += 1
                    self.errors.append(error)
                else:
                    self.ok += 1
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _session(self) -> requests.Session:
        """This thread's session (a Session is not shared between threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
            session.verify = False
        return session

    def _request(self) -> str:
        """One request; what went wrong, or ""."""
        try:
            status = self._session().get(self.url, headers=self.headers, timeout=30).status_code
        except requests.RequestException as exc:
            return type(exc).__name__
        return f"HTTP {status}" if status >= 500 else ""

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


class AddressesLoad(Load):
    """The same bounded load sent to a site with several addresses (several web servers), as
    a browser treats a name with several: each request starts at the next address and, when
    the connection or the TLS handshake fails (nothing was sent yet), tries the following
    one. Failed: a request no address took, or one whose answer did not come or was 5xx.
    Every request on its own connection; `moved` counts the requests that changed address,
    `served` the requests each address answered (under 400: the page asked is a page)."""

    def __init__(self, addresses: list[str], path: str, host: str, port: int = 443, **kw: object):
        super().__init__(f"https://{host}{path}", fresh_connections=True, **kw)
        self.addresses, self.path, self.host, self.port = addresses, path, host, port
        self.moved = 0
        self.served = dict.fromkeys(addresses, 0)
        self._next = 0
        # One TLS context for every request (the server's certificate is not checked).
        self._context = ssl.create_default_context()
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE

    def _request(self) -> str:
        with self._lock:
            start, self._next = self._next, self._next + 1
        tried = []
        for i in range(len(self.addresses)):
            address = self.addresses[(start + i) % len(self.addresses)]
            raw = None
            try:
                raw = socket.create_connection((address, self.port), timeout=3)
                tls = self._context.wrap_socket(raw, server_hostname=self.host)
            except OSError as exc:
                if raw is not None:
                    raw.close()
                tried.append(f"{address}: {type(exc).__name__}")
                continue
            if tried:
                with self._lock:
                    self.moved += 1
            connection = http.client.HTTPConnection(address, self.port, timeout=30)
            connection.sock = tls
            try:
                connection.request(
                    "GET", self.path, headers={"Host": self.host, "Connection": "close"}
                )
                status = connection.getresponse().status
            except OSError as exc:
                return f"{address}: {type(exc).__name__} after the request was sent"
            except http.client.HTTPException as exc:
                return f"{address}: {type(exc).__name__}"
            finally:
                connection.close()
            if status >= 400:
                return f"{address}: HTTP {status}"
            with self._lock:
                self.served[address] += 1
            return ""
        return "no address took it: " + "; ".join(tried)


def boot_mark(host) -> str:
    """What tells one boot of a server from the next: the kernel's boot id and PID 1's start
    time (a container restarted on the same kernel changes the second), as the system role's
    reboot compares them."""
    return host.check_output("cat /proc/sys/kernel/random/boot_id; cut -d ' ' -f 22 /proc/1/stat")


def live_release(host, app: str = "myapp") -> str:
    """The release `host` serves: the name `current` points to."""
    with host.sudo():
        return Path(host.check_output(f"readlink /srv/{app}/current")).name


def releases(host, app: str = "myapp") -> list[str]:
    """Every release directory on `host`, by name (sorted: ls sorts)."""
    with host.sudo():
        return host.check_output(f"ls -A /srv/{app}/releases").split()


def release_copy(tmp_path: Path, mark: str) -> Path:
    """The sample app with a visible mark, so a deploy ships a new release (same requirements)."""
    target = tmp_path / f"app-{mark}"
    shutil.copytree(
        PROJECT / "app", target, ignore=shutil.ignore_patterns("__pycache__", ".*_cache")
    )
    home = target / "myapp/templates/myapp/home.html"
    home.write_text(
        home.read_text().replace(
            "<h1>Sample app</h1>", f'<h1>Sample app</h1><p id="mark">{mark}</p>'
        )
    )
    return target


def failing_migration_copy(tmp_path: Path, mark: str) -> Path:
    """The sample app with a mark and a migration that raises "this migration fails" (in a
    transaction, as PostgreSQL runs them: the schema stays as it was)."""
    source = release_copy(tmp_path, mark)
    migrations = source / "myapp/migrations"
    last = max(path.stem for path in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
    (migrations / f"{int(last[:4]) + 1:04d}_fails.py").write_text(
        "from django.db import migrations\n\n\n"
        "def fail(apps, schema_editor):\n    raise RuntimeError('this migration fails')\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('myapp', '{last}')]\n"
        "    operations = [migrations.RunPython(fail)]\n"
    )
    return source


def task_outcome(output: str, task: str) -> str:
    """How a playbook run's task first ended for its host (output: the run's stdout; task: the
    end of the task's title): changed, ok, skipping, failed, fatal, or absent."""
    after = output.split(task + "]", 1)
    if len(after) == 1:
        return "absent"
    found = re.search(r"(?m)^(changed|skipping|ok|failed|fatal): ", after[1])
    return found.group(1) if found else "absent"


def ansible_playbook(
    playbook: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs one of the kit's playbooks against the scenario's inventory, as a user would
    (with `env` added to the environment)."""
    import sys

    binary = Path(sys.executable).parent / "ansible-playbook"
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    # Plain text: Molecule forces colour for its own runs, and tests read this output.
    # The containers get new host keys on every start: Molecule's own runs do not check them
    # either (Mitogen, when opted in, reads this setting, not the inventory's ssh args).
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        **(env or {}),
    }
    return subprocess.run(
        [str(binary), "-i", inventory, str(PROJECT / "playbooks" / playbook), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )


def record(name: str, **values: object) -> None:
    """Appends a measurement to artifacts/measurements.jsonl and prints it (shown with -rA)."""
    import json

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"measurement": name, **values})
    with (ARTIFACTS / "measurements.jsonl").open("a") as out:
        out.write(line + "\n")
    print(line)


def chromium():
    """Headless Chromium (the controller's Debian package) that accepts the self-signed
    certificate."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1024,768",
    ):
        options.add_argument(arg)
    options.accept_insecure_certs = True
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def screenshot_styled(url: str, name: str) -> str:
    """Loads `url` in headless Chromium, saves artifacts/<name>.png, and returns the body's
    computed font family (the browser's default serif when no stylesheet applied)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    try:
        driver.get(url)
        WebDriverWait(driver, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        return driver.execute_script("return getComputedStyle(document.body).fontFamily")
    finally:
        driver.quit()
