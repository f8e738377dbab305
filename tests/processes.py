"""Running the real `pvm` and gunicorn processes in tests: free ports, waiting for health, clean stops."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from flask import Flask
from werkzeug.serving import make_server

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(instance_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PVM_", "DATABASE_URL"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PVM_INSTANCE_DIR"] = str(instance_dir)
    env.update(extra)
    return env


# Commands run from outside the checkout, as a user's would: `pvm` must find its migrations, packs and templates
# inside the installed package, not in the working directory.
OUTSIDE = tempfile.gettempdir()


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=OUTSIDE)


def start(args: list[str] | str, env: dict[str, str], shell: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        shell=shell,
        start_new_session=True,
        cwd=OUTSIDE,
    )


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited early ({process.returncode}): {process.stderr.read()}")
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except (requests.ConnectionError, requests.Timeout):
            pass  # still starting (or a loaded machine): ask again until the deadline
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGINT, timeout: float = 20) -> tuple[int, str]:
    os.killpg(process.pid, sig)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        raise AssertionError(f"process did not stop on {sig}: {err}") from None
    return process.returncode, err


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    """Read standard error until a line contains `text`; returns everything read so far.

    A reader thread does blocking readline(): select() on a buffered text pipe can miss lines already pulled into
    Python's buffer together with an earlier one.
    """
    assert process.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stderr

    def pump() -> None:
        for line in iter(stream.readline, ""):
            lines.put(line)
            if text in line:
                return  # leave the rest of the stream to whoever reads it next (e.g. stop())

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None and lines.empty():
                break
            continue
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"never printed {text!r} (exit {process.poll()}): {''.join(seen)}")


@contextlib.contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app behind a real threaded HTTP server in this process (so requests share its intake's group commit)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
