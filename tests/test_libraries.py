"""A system library an engine needs is missing (vosk's libvosk.so needs libatomic.so.1,
which a minimal Debian lacks): `coach doctor` names it and the package that has it.

The machine's own libraries are never touched: the loader's real messages come from a
small library built here whose dependency is deleted."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coach.errors import missing_library

from .conftest import ROOT

#: What cffi (vosk's loader) and ctypes say when libvosk.so's libatomic.so.1 is missing.
CFFI = ("cannot load library '/venv/lib/python3.11/site-packages/vosk/libvosk.so': "
        "libatomic.so.1: cannot open shared object file: No such file or directory.  "
        "Additionally, ctypes.util.find_library() did not manage to locate a library "
        "called '/venv/lib/python3.11/site-packages/vosk/libvosk.so'")
CTYPES = "libatomic.so.1: cannot open shared object file: No such file or directory"


@pytest.mark.parametrize("text", [CFFI, CTYPES], ids=["cffi", "ctypes"])
def test_a_missing_libatomic_is_named_with_its_package(text):
    found = missing_library("vosk", OSError(text))
    assert found.message == "vosk cannot load: libatomic.so.1 is missing"
    assert found.fix == "install libatomic1: sudo apt-get install libatomic1"


def test_an_unknown_library_gets_a_way_to_find_its_package_and_other_errors_pass():
    found = missing_library("whisper", ImportError(
        "libfoo.so.3: cannot open shared object file: No such file or directory"))
    assert "libfoo.so.3 is missing" in found.message and "apt-file search" in found.fix
    assert missing_library("vosk", OSError("Unsupported platform")) is None


@pytest.fixture(scope="module")
def broken_library(tmp_path_factory) -> Path:
    """A shared library whose dependency (libcoachgone.so.1) was deleted."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build a library with a missing dependency")
    folder = tmp_path_factory.mktemp("libs")
    (folder / "gone.c").write_text("int gone(void) { return 1; }\n")
    (folder / "top.c").write_text("int gone(void);\nint top(void) { return gone(); }\n")
    subprocess.run([compiler, "-shared", "-fPIC", "-o", "libcoachgone.so.1",
                    "-Wl,-soname,libcoachgone.so.1", "gone.c"], cwd=folder, check=True)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", "libtop.so", "top.c", "-L.",
                    "-l:libcoachgone.so.1"], cwd=folder, check=True)
    (folder / "libcoachgone.so.1").unlink()
    return folder / "libtop.so"


def test_the_loaders_own_message_is_understood(broken_library):
    with pytest.raises(OSError) as error:
        ctypes.CDLL(str(broken_library))
    found = missing_library("top", error.value)
    assert found.message == "top cannot load: libcoachgone.so.1 is missing"


def test_doctor_names_the_library_vosk_cannot_load(broken_library, tmp_path):
    """A stand-in `vosk` whose import loads the broken library, as vosk loads libvosk.so:
    doctor's vosk line names what is missing, and doctor itself does not crash."""
    package = tmp_path / "site" / "vosk"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"import ctypes\nctypes.CDLL({str(broken_library)!r})\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    result = subprocess.run([sys.executable, "-m", "coach", "--data-dir", str(tmp_path / "d"),
                             "--voice", "espeak:en-us", "doctor"], capture_output=True,
                            text=True, timeout=120, env=env, cwd=ROOT)
    assert "Traceback" not in result.stderr, result.stderr
    line = next(line for line in result.stdout.splitlines() if " vosk " in line)
    assert "libcoachgone.so.1 is missing" in line and "apt-file search" in line, line
