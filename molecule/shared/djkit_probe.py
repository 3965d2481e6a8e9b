"""Helpers the scenarios' testinfra tests share: reaching a target's published ports from the
controller, and asking the target's own tools (the manage wrapper) as root."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[2]))
ARTIFACTS = PROJECT / "artifacts"

# The targets use the kit's self-signed certificate.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


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

    def csrf_post_note(self, session: requests.Session, text: str) -> requests.Response:
        page = session.get(f"{self.base}/", timeout=10)
        page.raise_for_status()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, "the page has no CSRF token in its note form"
        return session.post(
            f"{self.base}/notes/",
            data={"text": text, "csrfmiddlewaretoken": match.group(1)},
            headers={"Origin": self.base, "Referer": f"{self.base}/"},
            allow_redirects=False,
            timeout=10,
        )


def site_for(container: str) -> Site:
    return Site(container, published_port(container, 443), published_port(container, 80))
