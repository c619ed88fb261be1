"""Shared fixtures: the repository's paths, a TEST key, the CLI binary and a small register."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
KAT = ROOT / "tests" / "data" / "kat.json"
# A TEST key (a fixed byte pattern), never a real one.
TEST_KEY_HEX = "07" * 32


def cli() -> Path:
    """The minex binary the tests compare with (scripts/test sets MINEX_BIN)."""
    path = os.environ.get("MINEX_BIN")
    if not path or not Path(path).exists():
        pytest.skip("MINEX_BIN (the minex binary) is not set; scripts/test sets it")
    return Path(path)


@pytest.fixture(scope="session")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "test.key"
    path.write_text(TEST_KEY_HEX + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def register(tmp_path_factory) -> Path:
    """A 20,000-row synthetic register (the examples' generator; synthetic people only)."""
    gen = os.environ.get("MINEX_GENERATOR")
    if not gen or not Path(gen).exists():
        pytest.skip("MINEX_GENERATOR (the example generate_register) is not set; scripts/test sets it")
    out = tmp_path_factory.mktemp("register") / "register.csv"
    subprocess.run([gen, "--rows", "20000", "--seed", "11", "--out", str(out)], check=True)
    return out


# Under CI (scripts/test sets MINEX_REQUIRE_SPARK=1) nothing may be skipped: a missing
# pyspark, Java or binary is a failure, not a quiet pass.
_SKIPPED = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("MINEX_REQUIRE_SPARK") == "1" and _SKIPPED:
        print(f"\nMINEX_REQUIRE_SPARK=1 but {len(_SKIPPED)} tests were skipped: {_SKIPPED}")
        session.exitstatus = 1
