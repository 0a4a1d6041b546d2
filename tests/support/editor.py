"""Drive the real `gallery edit` in a subprocess: start it, read its address, send raw requests, stop it.

Requests are written byte for byte with http.client, so Host, Origin and odd paths reach the server
exactly as sent (a higher-level client would normalise them).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..conftest import REPO

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{32,})")


@dataclass
class Editor:
    process: subprocess.Popen
    port: int
    token: str
    source: Path
    out: Path
    stderr: Path

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = "",
        query: bool = False,
        host: str | None = None,
        origin: str | None = None,
    ) -> tuple[int, bytes]:
        """One request as written here: `token` "" means the session's, None none at all."""
        token = self.token if token == "" else token
        if token is not None and query:
            path += ("&" if "?" in path else "?") + f"token={token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", host or f"127.0.0.1:{self.port}")
            if token is not None and not query:
                connection.putheader("Authorization", f"Bearer {token}")
            if origin is not None:
                connection.putheader("Origin", origin)
            data = b"" if body is None else json.dumps(body).encode()
            if body is not None:
                connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, body: object = None) -> dict:
        status, data = self.call(method, path, body)
        assert status == 200, (status, data)
        return json.loads(data)


def read_first_line(process: subprocess.Popen, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def start_editor(
    source: Path, out: Path, *args: str, log: Path, cwd: Path | None = None, browser: str = ""
) -> subprocess.Popen:
    """`gallery edit` started (in `cwd`, where relative paths are), its stderr going to `log`; with
    `--no-browser`, unless `browser` names the command to open the page with ($BROWSER)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "edit", str(source), "--out", str(out), *args]
        + ([] if browser else ["--no-browser"]),
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), "BROWSER": browser},
    )


@contextmanager
def editing(source: Path, out: Path, *args: str, cwd: Path | None = None, browser: str = "") -> Iterator[Editor]:
    """The real `gallery edit` on `source`, stopped with Ctrl-C (SIGINT) afterwards. With `cwd`,
    `source` and `out` may be relative to it (as a person types them)."""
    where = cwd or Path.cwd()
    stderr = (where / out).parent / f"{out.name}-editor.log"
    stderr.parent.mkdir(parents=True, exist_ok=True)
    process = start_editor(source, out, *args, log=stderr, cwd=cwd, browser=browser)
    try:
        line = read_first_line(process, timeout=180)
        match = URL.fullmatch(line.strip())
        assert match, f"first line on stdout: {line!r}; stderr: {stderr.read_text()}"
        yield Editor(process, int(match[1]), match[2], where / source, where / out, stderr)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
