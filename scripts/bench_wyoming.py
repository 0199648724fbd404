#!/usr/bin/env python
"""Benchmark hearing over Wyoming: local Whisper against `coach serve` on this machine.

    .venv/bin/python scripts/bench_wyoming.py [--quick]

One run, every server on 127.0.0.1:

1. turn latency, local against remote, over the realdev recordings (development data:
   real digits and "stop", 24 speakers, expect "reps"), each cut to the speech the
   voice gate finds plus the margin the client sends, as a microphone turn would be:
   median and p95 of one decode call as the coach makes it, local and through
   `coach serve` (both one thread); the added time per turn, and the protocol's own
   round trip (remote turn minus the server's decode time);
2. answers logged right / wrong / not logged, local against remote, on the same set;
3. `coach serve` under load, 1, 4 and 16 clients: saturated (each client sends its next
   answer as soon as it has the last one), with every request queued ("queue") or
   with the coach's own load shedding ("shed": busy at once when the queue is longer
   than the client will wait, the turn heard on the speaker), and paced (each client
   answers every 3 s on average, Poisson arrivals, as lifters between sets): turns,
   server answers/s, p50 and p95 of the lifter's turn, the server's peak memory
   (VmHWM) against its memory once loaded (one model);
4. the fallback when the server dies: refused (killed before the turn), reset (killed
   during the turn) and silent (takes the connection, never answers): time until local
   hearing takes the turn, and turns lost.

Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

# before numpy loads, as `coach` itself does: more BLAS threads only spin in Whisper's
# numpy decoder (set later, the local side measured ~5x slower than the server)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.remote import wire  # noqa: E402
from coach.remote.hearing import RemoteRecognizer  # noqa: E402
from coach.settings import RemoteSettings  # noqa: E402

REALDEV = Path(os.environ.get("COACH_SHARED_DIR") or ROOT.parent / "shared") / "data" / "realdev"
HOST = "127.0.0.1"
NUMBERS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def recordings(limit: int | None):
    from coach.audio.wavio import read_wav
    from coach.hearing import to_int16_16k
    from coach.hearing.vad import GateSettings, speech_span
    from coach.remote.hearing import PAD_SECONDS

    rows = []
    for line in (REALDEV / "manifest.tsv").read_text().splitlines()[1:]:
        file, word, *_ = line.split("\t")
        if word in NUMBERS:
            expected = ("reps", NUMBERS[word])
        elif word == "stop":
            expected = ("command", "stop")
        else:
            continue
        samples, rate = read_wav(REALDEV / file)
        audio = to_int16_16k(samples, rate)
        span = speech_span(audio, GateSettings())
        if span is not None:  # what the voice gate hands on from a microphone
            pad = int(PAD_SECONDS * 16_000)
            audio = audio[max(0, span[0] - pad):span[1] + pad]
        rows.append((file, audio, expected))
    return rows[:: max(1, len(rows) // limit)] if limit else rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, wire.Address]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "coach", "serve", "--uri", f"tcp://{HOST}:{port}",
         "--engine", "whisper", "--threads", "1"], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until = time.monotonic() + 120
    while time.monotonic() < until:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return process, wire.Address(HOST, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("coach serve did not start")


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def outcome(answer, expected) -> str:
    if not answer.understood:
        return "none"
    return "right" if (answer.kind, answer.value) == expected else "wrong"


def latency_and_accuracy(local, address, data) -> None:
    remote = RemoteRecognizer(address, local, RemoteSettings(deadline=10))
    for _, audio, _ in data[:3]:  # warm both sides
        local.decode(audio, "reps")
        remote.decode(audio, "reps")
    times = {"local": [], "remote": []}
    trips: list[float] = []
    scores = {"local": {"right": 0, "wrong": 0, "none": 0},
              "remote": {"right": 0, "wrong": 0, "none": 0}}
    same = 0
    for number, (_, audio, expected) in enumerate(data):
        order = ("local", "remote") if number % 2 else ("remote", "local")
        answers = {}
        for side in order:
            recognizer = local if side == "local" else remote
            started = time.perf_counter()
            answers[side] = recognizer.decode(audio, "reps")
            times[side].append((time.perf_counter() - started) * 1000)
            scores[side][outcome(answers[side], expected)] += 1
        heard = wire.transcribe(address, audio, [], {"expect": "reps"}, 10)
        trips.append(heard.ms - float(heard.answer.get("ms", 0.0)))
        same += (answers["local"].kind, answers["local"].value) == \
            (answers["remote"].kind, answers["remote"].value)
        if answers["remote"].details.get("heard_by") != "server":
            progress(f"  turn {number} was not heard by the server")
    added = [r - lo for r, lo in zip(times["remote"], times["local"], strict=True)]
    table(f"Turn latency, one decode call ({len(data)} realdev recordings, expect reps; "
          "both one thread)", ["", "median ms", "p95 ms"],
          [["local Whisper", f"{statistics.median(times['local']):.1f}",
            f"{p95(times['local']):.1f}"],
           ["coach serve (same machine)", f"{statistics.median(times['remote']):.1f}",
            f"{p95(times['remote']):.1f}"],
           ["added per turn (remote - local)", f"{statistics.median(added):.1f}",
            f"{p95(added):.1f}"],
           ["protocol round trip (turn - server decode)", f"{statistics.median(trips):.1f}",
            f"{p95(trips):.1f}"]])
    table(f"Answers, local against remote ({len(data)} recordings)",
          ["", "logged right", "logged wrong", "not logged", "same answer as local"],
          [[side, str(s["right"]), str(s["wrong"]), str(s["none"]),
            str(len(data)) if side == "local" else str(same)]
           for side, s in scores.items()])


def load(address, pid: int, data, seconds: float, loaded_mb: float, local) -> None:
    """Rows of parallel clients. "queue": every request waits its turn (the server as
    before load shedding, and what a plain client gets); "shed": the coach's own
    request, which says how long it will wait (``RemoteSettings.max_wait``) and gets
    "busy" at once when the queue is longer. A shed turn is heard on the speaker itself:
    its time is the busy reply plus that clip's local decode measured alone (each coach
    speaker decodes on its own CPU; on this one machine 16 clients' local decodes
    would share the server's two cores, which is not the case being measured), and the
    client waits that long before its next answer. A coach client waits in the queue
    at most one local decode (the median measured here), as ``RemoteRecognizer``
    does."""
    alone = []
    for _, audio, _ in data:  # each clip's local decode, alone, one thread
        started = time.perf_counter()
        local.decode(audio, "reps")
        alone.append((time.perf_counter() - started) * 1000)
    # what a coach client waits at most, as the coach sets it: one local decode here
    wait = round(statistics.median(alone) / 1000, 3)
    rows = []
    for mode, policy in (("saturated", "queue"), ("saturated", "shed"), ("paced", "shed")):
        for clients in (1, 4, 16):
            turns: list[float] = []
            served: list[float] = []
            failures, shed = [0], [0]
            stop_at = time.monotonic() + (seconds if mode == "saturated" else 3 * seconds)
            lock = threading.Lock()

            def client(seed: int, mode=mode, policy=policy, stop_at=stop_at, turns=turns,
                       served=served, failures=failures, shed=shed, lock=lock) -> None:
                rng = random.Random(seed)
                question = {"expect": "reps", **({"wait": wait} if policy == "shed" else {})}
                while time.monotonic() < stop_at:
                    if mode == "paced":
                        time.sleep(rng.expovariate(1 / 3.0))
                        if time.monotonic() >= stop_at:
                            return
                    pick = rng.randrange(len(data))
                    started = time.perf_counter()
                    try:
                        wire.transcribe(address, data[pick][1], [], question, 60)
                    except wire.ServerBusy:
                        busy_ms = (time.perf_counter() - started) * 1000
                        with lock:
                            shed[0] += 1
                            turns.append(busy_ms + alone[pick])
                        time.sleep(alone[pick] / 1000)  # the speaker hears it itself
                        continue
                    except wire.ServerError:
                        with lock:
                            failures[0] += 1
                        continue
                    with lock:
                        took = (time.perf_counter() - started) * 1000
                        turns.append(took)
                        served.append(took)

            started = time.monotonic()
            threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            took = time.monotonic() - started
            if clients == 1:
                single_p95 = p95(turns) if turns else float("nan")
            rows.append([mode, policy, str(clients), str(len(turns)),
                         f"{len(served) / took:.1f}", str(shed[0]),
                         f"{statistics.median(turns):.0f}" if turns else "-",
                         f"{p95(turns):.0f}" if turns else "-",
                         f"{p95(turns) / single_p95:.1f}x" if turns else "-",
                         f"{p95(served):.0f}" if served else "-",
                         str(failures[0]),
                         f"{memory_mb(pid, 'VmHWM'):.0f}",
                         f"{memory_mb(pid, 'VmHWM') - loaded_mb:+.0f}"])
            progress(f"  load {mode} {policy} {clients}: {rows[-1]}")
    table(f"coach serve under load ({seconds:.0f} s per row, paced: {3 * seconds:.0f} s; "
          f"one decode worker, one thread; shed: the client waits at most {wait} s in the "
          f"queue, one local decode; loaded = {loaded_mb:.0f} MB resident after its first "
          "answer: one model at work; turn = the lifter's wait, a shed turn = busy reply "
          "+ local decode alone)",
          ["load", "policy", "clients", "turns", "server answers/s", "shed to local",
           "turn p50 ms", "turn p95 ms", "turn p95 / 1 client", "server-answered p95 ms",
           "failed", "peak MB", "peak - loaded MB"], rows)


def fallback(local, data) -> None:
    from coach.remote.hearing import NOTICE

    rows = []
    audio, expected = data[0][1], data[0][2]
    settings = RemoteSettings(deadline=0.8)

    def turns(remote, count: int) -> tuple[list[float], int, list]:
        took, lost, answers = [], 0, []
        for _ in range(count):
            started = time.perf_counter()
            try:
                answers.append(remote.decode(audio, "reps"))
            except Exception:  # a lost turn is what this measures
                lost += 1
                continue
            took.append((time.perf_counter() - started) * 1000)
        return took, lost, answers

    # refused: the server was killed before the turn
    process, address = start_server()
    remote = RemoteRecognizer(address, local, settings)
    remote.decode(audio, "reps")
    process.send_signal(signal.SIGKILL)
    process.wait()
    took, lost, answers = turns(remote, 5)
    rows.append(["killed before the turn (refused)",
                 f"{answers[0].details.get('fallback_ms', float('nan')):.1f}",
                 f"{took[0]:.0f}", str(lost), str(sum(outcome(a, expected) == 'right'
                                                      for a in answers)) + "/5",
                 str(remote.take_notice() == NOTICE)])
    # reset: killed while it decodes the turn
    process, address = start_server()
    remote = RemoteRecognizer(address, local, settings)
    remote.decode(audio, "reps")
    timer = threading.Timer(0.02, lambda: process.send_signal(signal.SIGKILL))
    timer.start()
    took, lost, answers = turns(remote, 5)
    process.wait()
    rows.append(["killed during the turn (reset)",
                 f"{answers[0].details.get('fallback_ms', float('nan')):.1f}",
                 f"{took[0]:.0f}", str(lost), str(sum(outcome(a, expected) == 'right'
                                                      for a in answers)) + "/5",
                 str(remote.take_notice() == NOTICE)])
    # silent: takes the connection, never answers
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(sock.accept()[0]) for _ in range(16)],
                     daemon=True).start()
    remote = RemoteRecognizer(wire.Address(HOST, sock.getsockname()[1]), local, settings)
    took, lost, answers = turns(remote, 5)
    rows.append(["silent (the deadline, 0.8 s)",
                 f"{answers[0].details.get('fallback_ms', float('nan')):.1f}",
                 f"{took[0]:.0f}", str(lost), str(sum(outcome(a, expected) == 'right'
                                                      for a in answers)) + "/5",
                 str(remote.take_notice() == NOTICE)])
    for held_sock in [*held, sock]:
        held_sock.close()
    table("Fallback when the server dies (5 turns each; the first is the one that meets "
          "the failure, the rest are heard locally while the server rests)",
          ["case", "to local ms", "first turn ms", "turns lost", "logged right",
           "notice once"], rows)


def _stop_on_term(process: subprocess.Popen) -> None:
    def stop(signum, frame):
        process.kill()
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="30 recordings, 8 s per load row")
    args = parser.parse_args()
    if not (REALDEV / "manifest.tsv").is_file():
        raise SystemExit(f"the realdev recordings are not here ({REALDEV})")
    from coach.hearing import open_recognizer

    data = recordings(30 if args.quick else None)
    progress(f"{len(data)} recordings; loading Whisper and coach serve")
    local = open_recognizer("whisper", threads=1)
    process, address = start_server()
    _stop_on_term(process)
    try:
        idle = memory_mb(process.pid, "VmRSS")
        wire.transcribe(address, data[0][1], [], {"expect": "reps"}, 60)
        loaded = memory_mb(process.pid, "VmHWM")
        progress(f"coach serve: {idle:.0f} MB loaded, {loaded:.0f} MB after one answer")
        print(f"\ncoach serve memory: {idle:.0f} MB resident once loaded (model and "
              f"grammars), {loaded:.0f} MB peak after its first answer")
        progress("latency and accuracy")
        latency_and_accuracy(local, address, data)
        progress("load")
        load(address, process.pid, data, 8.0 if args.quick else 20.0, loaded, local)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    progress("fallback")
    fallback(local, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
