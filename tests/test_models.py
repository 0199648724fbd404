"""Vosk model lookup and `coach models fetch` against a local HTTP server (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import zipfile
from pathlib import Path

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
    missing = run_coach("models", "path", env=env)
    assert missing.returncode == 1 and "fix:" in missing.stderr
    fetched = run_coach("models", "fetch", NAME, "--url", f"{base}/good.zip", "--sha256",
                        digest, env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == str(tmp_path / "models" / NAME)
    listed = run_coach("models", "list", env=env)
    assert "installed" in listed.stdout and NAME in listed.stdout
    assert run_coach("models", "path", env=env).stdout.strip() == str(tmp_path / "models" / NAME)
    bad = run_coach("models", "fetch", "no-such-model", env=env)
    assert bad.returncode == 2 and "unknown model" in bad.stderr
