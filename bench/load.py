"""The load client, run as its own process: N keep-alive HTTP/1.1 connections on loopback, each sending its next
request as soon as the previous answer is in, until the time is up or the requests run out.

`python -m bench.load JOB RESULT`: JOB (pickle) holds the ports (one per server worker; the connections are spread
evenly over them), connections, duration, the requests (raw bytes) and, for create_payment, the share of replays:
a replay re-sends an original whose answer came in at least `replay_after` seconds earlier, and its answer must be
the original's status and body with Idempotent-Replayed: true. RESULT (pickle) gets, per request: index, replay
flag, status, send and end times (epoch seconds), and the body where the caller asked for bodies.
"""

from __future__ import annotations

import asyncio
import bisect
import pickle
import random
import sys
import time
from dataclasses import dataclass, field

import uvloop


@dataclass
class Job:
    ports: list[int]  # the server's workers, one port each: connection i goes to ports[i % len(ports)]
    connections: int
    duration: float
    requests: list[bytes]
    keep_bodies: bool = False
    replay_share: float = 0.0
    replay_after: float = 0.2  # a client retries after a timeout, not the instant it got its answer
    seed: int = 1
    cycle: bool = False  # reads: start over at the end of the list


@dataclass
class Outcome:
    index: int
    replay: bool
    status: int
    sent: float
    ended: float
    body: bytes | None = None
    replayed_header: bool = False


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    exhausted: bool = False
    errors: list[str] = field(default_factory=list)


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def run(job: Job) -> Result:
    result = Result()
    rng = random.Random(job.seed)
    next_index = 0
    answered: list[int] = []  # originals whose answer is in (the ones a replay may repeat), oldest first
    answered_at: list[float] = []
    deadline = 0.0

    def take() -> tuple[int, bool] | None:
        nonlocal next_index
        if answered and job.replay_share and rng.random() < job.replay_share:
            eligible = bisect.bisect_right(answered_at, time.time() - job.replay_after)
            if eligible:
                return answered[rng.randrange(eligible)], True
        if next_index >= len(job.requests) and job.cycle:
            next_index = 0
        if next_index >= len(job.requests):
            result.exhausted = True
            return None
        next_index += 1
        return next_index - 1, False

    async def connection(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.time() < deadline:
                item = take()
                if item is None:
                    return
                index, replay = item
                sent = time.time()
                writer.write(job.requests[index])
                status, headers, body = await _read_response(reader)
                ended = time.time()
                keep = job.keep_bodies or job.replay_share > 0
                result.outcomes.append(Outcome(index, replay, status, sent, ended, body if keep else None,
                                               headers.get(b"idempotent-replayed") == b"true"))
                if not replay and job.replay_share and 200 <= status < 300:
                    answered.append(index)
                    answered_at.append(ended)
                if headers.get(b"connection") == b"close":
                    return
        except (OSError, asyncio.IncompleteReadError) as error:
            result.errors.append(f"{type(error).__name__}: {error}")
        finally:
            writer.close()

    result.started = time.time()
    deadline = result.started + job.duration
    await asyncio.gather(*(connection(job.ports[n % len(job.ports)]) for n in range(job.connections)))
    result.ended = time.time()
    return result


def main() -> None:
    from bench import load  # this module under its own name (not __main__), so the result unpickles elsewhere

    with open(sys.argv[1], "rb") as handle:
        job: Job = pickle.load(handle)
    result = uvloop.run(load.run(job))
    with open(sys.argv[2], "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
