"""The redis role's bind line for the Redis the server has: Ubuntu 22.04's 6.0.16 refuses the
optional "-" prefix (6.2 and later), Debian 12's 7.0 and Ubuntu 24.04's 7.0 take it."""

from __future__ import annotations

import pytest
from role_templates import render, role_variables


def bind_line(version_output: str, remote_clients: bool = False) -> str:
    variables = role_variables("redis") | {
        "inventory_hostname": "db1",
        "djkit_private_address": "10.0.0.5",
        "redis_client_hosts": ["app1"] if remote_clients else ["db1"],
        "__redis_version_output": {"stdout": version_output},
    }
    return render("bind {{ redis_bind_addresses | join(' ') }}", variables)


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (
            "Redis server v=6.0.16 sha=00000000:0 malloc=jemalloc-5.2.1 bits=64",
            "bind 127.0.0.1 ::1",
        ),
        (
            "Redis server v=6.2.0 sha=00000000:0 malloc=jemalloc-5.1.0 bits=64",
            "bind 127.0.0.1 -::1",
        ),
        (
            "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64",
            "bind 127.0.0.1 -::1",
        ),
        ("", "bind 127.0.0.1 ::1"),
    ],
)
def test_ipv6_loopback_as_the_installed_version_takes_it(output, line) -> None:
    assert bind_line(output) == line


def test_remote_clients_add_the_private_address() -> None:
    line = bind_line("Redis server v=7.0.15 sha=0 bits=64", remote_clients=True)
    assert line == "bind 127.0.0.1 -::1 10.0.0.5"
