"""`hexpay serve --workers 2` as an operator runs it (a process of its own, SQLite, port 0): a listening socket per
worker, keep-alive connections spread over both workers by the kernel, a worker that dies replaced on its socket,
and SIGTERM ending every process. Which process holds a socket is read from /proc (Linux: SO_REUSEPORT spreads
connections there; elsewhere `hexpay serve` keeps uvicorn's shared socket)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints import workers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads on Linux")

HEXPAY = str(Path(sys.executable).with_name("hexpay"))
CONNECTIONS = 32
_LISTEN, _ESTABLISHED = "0A", "01"


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def logged(self, message: str) -> bool:
        """Whether the supervisor has logged this message."""
        return any(f'"logger":"hexpay.serve","message":"{message}"' in line
                   for line in self.log.read_text().splitlines())

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children if _is_worker(int(pid))]

    def sockets(self, state: str) -> dict[int, list[int]]:
        """Worker pid -> the inodes of its TCP sockets on the served port in this state (LISTEN, ESTABLISHED)."""
        wanted = _inodes(self.port, state)
        held: dict[int, list[int]] = {}
        for pid in self.workers():
            with contextlib.suppress(FileNotFoundError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(FileNotFoundError):
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                        if target.startswith("socket:[") and int(target[8:-1]) in wanted:
                            held.setdefault(pid, []).append(int(target[8:-1]))
        return held


def _all(held: dict[int, list[int]]) -> list[int]:
    return sorted(inode for inodes in held.values() for inode in inodes)


def _is_worker(pid: int) -> bool:
    """A worker is a spawned multiprocessing child; the spawn machinery starts a resource tracker too."""
    with contextlib.suppress(FileNotFoundError):
        return "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    return False


def _inodes(port: int, state: str) -> set[int]:
    found: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                    found.add(int(fields[9]))
    return found


def _serving_line(log: Path, process: subprocess.Popen[bytes], deadline: float) -> dict[str, object]:
    """The supervisor's line saying where it serves (the log is a file: a pipe nobody drains would fill up)."""
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("logger") == "hexpay.serve" and entry.get("message") == "serving":
                    return dict(entry)
        time.sleep(0.1)
    raise AssertionError(f"hexpay serve did not say where it serves (exit code {process.poll()}): "
                         f"{log.read_text()[-2000:]}")


def _get(connection: socket.socket) -> bytes:
    """One GET /health/live on a keep-alive connection; the status line of its answer."""
    connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        chunk = connection.recv(4096)
        assert chunk, f"connection closed after {answer!r}"
        answer += chunk
    return answer.split(b"\r\n", 1)[0]


def _wait_until(check: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HEXPAY_")}
    env.update(HEXPAY_ENV="dev", HEXPAY_VAR_DIR=str(tmp_path / "var"), HEXPAY_LOG_LEVEL="INFO")
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen([HEXPAY, "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        entry = _serving_line(log, process, time.monotonic() + 60)
        port = int(str(entry["address"]).rsplit(":", 1)[1])
        assert entry["workers"] == 2
        server = Served(process, port, log)
        # Each worker holds its socket from the start; it serves once uvicorn's startup is complete.
        _wait_until(lambda: log.read_text().count("Application startup complete") == 2 and _answers(port))
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _answers(port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            return _get(connection) == b"HTTP/1.1 200 OK"
    except OSError:
        return False


def test_each_worker_accepts_on_a_socket_of_its_own_and_connections_spread_over_both(served: Served) -> None:
    listening = served.sockets(_LISTEN)
    assert len(listening) == 2 and all(len(inodes) == 1 for inodes in listening.values()), listening
    assert len({inode for inodes in listening.values() for inode in inodes}) == 2  # two sockets, not one shared
    connections = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(CONNECTIONS)]
    try:
        assert {_get(connection) for connection in connections} == {b"HTTP/1.1 200 OK"}
        accepted = served.sockets(_ESTABLISHED)
        counts = sorted(len(inodes) for inodes in accepted.values())
    finally:
        for connection in connections:
            connection.close()
    # By the hash of each connection's ports: 16 each on average; fewer than 4 on either is a chance of about 1
    # in 400,000. Uvicorn's shared socket hands them to whichever worker is awake, often nearly all to one.
    assert len(counts) == 2 and sum(counts) == CONNECTIONS and counts[0] >= 4, counts


def test_a_worker_that_dies_is_replaced_on_its_socket_and_sigterm_stops_them_all(served: Served) -> None:
    before = served.sockets(_LISTEN)
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)

    def replaced() -> bool:
        holders = served.sockets(_LISTEN)
        return len(holders) == 2 and victim not in holders

    _wait_until(replaced)
    after = served.sockets(_LISTEN)
    assert _all(after) == _all(before)  # the same sockets, one new holder
    # Every connection is answered, those the kernel hashes to the replaced worker's socket included: they wait in
    # its backlog while the replacement starts (a socket closed with its worker would have refused them).
    for _ in range(16):
        assert _answers(served.port, timeout=30)
    workers = served.workers()
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(40) == 0
    assert not any(os.path.exists(f"/proc/{pid}/cmdline") and Path(f"/proc/{pid}/cmdline").read_bytes()
                   for pid in workers)


def test_sighup_replaces_every_worker_on_its_socket_while_requests_keep_being_answered(served: Served) -> None:
    before = served.sockets(_LISTEN)
    answered: list[bool] = []
    errors: list[bytes] = []
    done = threading.Event()

    def shop() -> None:  # a new connection per request, as many clients are
        while not done.is_set() and len(answered) < 50_000:  # bounded in time and in count
            try:
                with socket.create_connection(("127.0.0.1", served.port), timeout=30) as connection:
                    status = _get(connection)
            except (OSError, AssertionError):  # refused, reset, or closed before an answer
                answered.append(False)
                continue
            answered.append(True)
            if status != b"HTTP/1.1 200 OK":
                errors.append(status)

    client = threading.Thread(target=shop)
    client.start()
    try:
        time.sleep(0.5)
        served.process.send_signal(signal.SIGHUP)
        _wait_until(lambda: served.logged("reloaded"), seconds=90)
        time.sleep(0.5)
    finally:
        done.set()
        client.join(60)
    after = served.sockets(_LISTEN)
    assert not set(after) & set(before) and len(after) == 2  # two new workers, the old ones gone
    assert _all(after) == _all(before)  # on the same sockets
    # Never an error, and at most a connection in a thousand closed unanswered: one the old worker accepted in the
    # instant it stopped accepting, before it read the request, which uvicorn's shutdown closes as idle (uvicorn's
    # own reload has the same window; this loop sends thousands of connections through it).
    assert len(answered) > 20 and answered.count(False) <= len(answered) / 1000, (len(answered), answered.count(False))
    assert not errors, errors[:5]
    assert served.process.poll() is None  # still serving


def test_workers_that_cannot_start_stop_the_server_with_exit_code_1_instead_of_being_restarted() -> None:
    # An app that cannot be built fails the same way in every replacement: the supervisor stops (uvicorn's worker
    # exits 1 before it serves), where restarting it would spin forever.
    options = workers.ServeOptions(host="127.0.0.1", port=0, app="tests.e2e.no_such_module:create_app")
    # Were it to restart them forever, this SIGTERM to ourselves ends the supervisor, which then returns 0.
    deadline = threading.Timer(60, os.kill, (os.getpid(), signal.SIGTERM))
    deadline.start()
    try:
        assert workers.Supervisor(options, workers.bind_sockets("127.0.0.1", 0, 2)).run() == 1
    finally:
        deadline.cancel()


def test_an_address_already_taken_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        env = {name: value for name, value in os.environ.items() if not name.startswith("HEXPAY_")}
        env.update(HEXPAY_ENV="dev", HEXPAY_VAR_DIR=str(tmp_path / "var"))
        port = taken.getsockname()[1]
        done = subprocess.run([HEXPAY, "serve", "--port", str(port), "--workers", "2"], env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        taken.close()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"hexpay: cannot listen on 127.0.0.1:{port}: Address already in use"
