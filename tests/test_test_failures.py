"""tools/test-failures, which `make molecule` runs when a scenario fails, against JUnit
reports as pytest writes them: a real failing run's, a passing one's, none, a broken one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "test-failures"

CASES = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("the fixture broke")

def test_passes():
    assert True

def test_compares():
    expected = "live"
    assert "held" == expected, "the release was not put live"

def test_needs_a_fixture(broken):
    pass
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, check=False
    )


def junit(tmp_path: Path, source: str) -> Path:
    """The JUnit XML of a real pytest run of `source`."""
    (tmp_path / "test_cases.py").write_text(source)
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    return report


def test_failures_and_errors_are_named_with_why(tmp_path) -> None:
    result = run("default", str(junit(tmp_path, CASES)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("default: 2 test(s) failed"), result.stdout
    assert "- test_cases::test_compares (failure)" in lines
    assert "- test_cases::test_needs_a_fixture (error)" in lines
    assert "test_passes" not in result.stdout
    assert "the release was not put live" in result.stdout
    assert "the fixture broke" in result.stdout


def test_a_long_failure_keeps_its_last_lines(tmp_path) -> None:
    source = "def test_long():\n" + "".join(f"    x{n} = {n}\n" for n in range(60))
    source += "    assert x59 == 0, 'the end'\n"
    result = run("lifecycle", str(junit(tmp_path, source)))
    kept = [line for line in result.stdout.splitlines() if line.startswith("    | ")]
    assert 0 < len(kept) <= 12, result.stdout
    assert any("AssertionError: the end" in line for line in kept), result.stdout
    assert "x0 = 0" not in result.stdout


def test_a_passing_report_says_a_later_step_failed(tmp_path) -> None:
    result = run("acme", str(junit(tmp_path, "def test_ok():\n    pass\n")))
    assert "acme: every test in" in result.stdout
    assert "a later step failed" in result.stdout


def test_no_report_says_the_scenario_stopped_before_verify(tmp_path) -> None:
    result = run("cluster", str(tmp_path / "absent.xml"))
    assert result.returncode == 0
    assert "failed before its verify step finished" in result.stdout


def test_a_broken_report_is_named(tmp_path) -> None:
    report = tmp_path / "cut.xml"
    report.write_text("<testsuites><testsuite><testcase")
    result = run("default", str(report))
    assert result.returncode == 0
    assert "cannot be read" in result.stdout


def test_the_default_report_is_the_scenarios_under_artifacts(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, str(TOOL), "thirdparty"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "artifacts/junit/thirdparty.xml" in result.stdout


def test_wrong_arguments_print_the_usage() -> None:
    result = run()
    assert result.returncode == 2
    assert "usage: tools/test-failures SCENARIO" in result.stderr
