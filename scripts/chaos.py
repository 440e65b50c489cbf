#!/usr/bin/env python3
"""Chaos test of the pipeline's delivery guarantees ("nothing lost, nothing doubled").

Each trial starts, in a fresh temporary directory and as scripts/stack.py defines them, a
real redis-server (AOF, appendfsync everysec), an OpenSSH sshd (internal-sftp, key
authentication), fixture-source (--users N --invalid-rate 0.1 --fault-rate 0.1 --seed S) and
the three stages (two transformers and two savers in every other trial). While the run goes through, it:

  * kill -9s a random stage (a random replica) at a random moment and restarts it,
  * restarts Redis from its AOF after SIGTERM, kill -9, or kill -9 plus the loss of the
    AOF's last few KB (a power cut with `appendfsync everysec`), in turn,
  * stops sshd for 30 s (10 s with --quick),
  * keeps one stage down for a while as its upstream publishes,

waits until every run is `completed`, stops the stages with SIGTERM (each must exit 0
within STOP_TIMEOUT seconds), and compares the result with a clean run of the same seed:
per run and table the multiset of records in SQLite, the three local files byte for byte,
and the SFTP copies byte for byte.

    scripts/chaos.py --trials 12 --users 20000 --kills-per-trial 5      # the full proof
    scripts/chaos.py --quick                                             # the CI version

Prints `trials:`, `kills:`, `runs:`, `rows lost:`, `rows duplicated:`, `files corrupted:`
and exits 1 when any of the last three is not 0, a run is not completed, or a stage did
not stop cleanly. Only the Python 3 standard library is used.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack as definition  # noqa: E402 - the stack's one definition, next to this file

REPO = Path(__file__).resolve().parent.parent
STAGES = ("extractor", "transformer", "saver")
TABLES = ("raw_users", "processed_users", "invalid_users")
STOP_TIMEOUT = 15.0


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def line_counter(path: Path) -> collections.Counter:
    counter: collections.Counter = collections.Counter()
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\r\n")
            if line.strip():
                counter[hashlib.sha1(line).digest()] += 1
    return counter


def counter_diff(reference: collections.Counter, actual: collections.Counter) -> tuple[int, int]:
    """(lost, duplicated): what the reference has more, what the actual has more."""
    lost = sum((reference - actual).values())
    duplicated = sum((actual - reference).values())
    return lost, duplicated


class Stack:
    """Redis, sshd, fixture-source and the stages of one trial, in `root`, as scripts/stack.py
    defines them; the trial's own tuning on top."""

    def __init__(self, root: Path, args, keys: Path, seed: int, replicas: int):
        self.root = root
        for d in ("data", "db"):
            (root / d).mkdir(parents=True, exist_ok=True)
        base_env = {key: value for key, value in os.environ.items() if not key.startswith(
            ("SFTP_", "RETRY_", "EXTRACT_", "SOURCE_", "CIRCUIT_", "CLAIM_", "RECONCILE_"))}
        self.definition = definition.Stack.prepare(
            root, components=("redis", "sshd", "fixture-source") + STAGES, bin_dir=Path(args.bin_dir), keys=keys,
            fixture={"users": args.users, "invalid_rate": 0.1, "fault_rate": args.fault_rate, "seed": seed,
                     "retry_after": 1},
            env={
                "DATA_DIR": str(root / "data"),
                "SOURCE_PAGE_SIZE": "100",
                "HTTP_TIMEOUT_SECONDS": "5",
                "RETRY_MAX": "25", "RETRY_BASE_SECONDS": "0.05", "RETRY_FACTOR": "1.5",
                "EXTRACT_ON_START": "true",
                # Far from now: only EXTRACT_ON_START starts runs during a trial.
                "EXTRACT_SCHEDULE": time.strftime("%H:%M", time.gmtime(time.time() + 12 * 3600)),
                "DATABASE_PATH": str(root / "db" / "data.db"),
                "DEPARTMENTS_CSV": str(REPO / "config" / "departments.csv"),
                "CLAIM_IDLE_SECONDS": "3", "RECONCILE_INTERVAL_SECONDS": "5",
                "CIRCUIT_BREAKER_THRESHOLD": "5", "CIRCUIT_BREAKER_COOLDOWN_SECONDS": "1",
                "LOG_LEVEL": "info",
            })
        self.redis = self.definition.process("redis")
        self.sshd = self.definition.process("sshd")
        self.fixture = self.definition.process("fixture-source")
        self.shutdown_seconds: dict[str, float] = {}
        self.stages: dict[str, list[definition.Process]] = {}
        for stage in STAGES:
            count = 1 if stage == "extractor" else replicas
            argv_extra = ["--upload-poll-seconds", "1"] if stage == "saver" else []
            self.stages[stage] = [self.definition.process(stage, f"{stage}{i + 1}", argv_extra, base_env)
                                  for i in range(count)]

    def final_file_count(self) -> int:
        data = self.root / "data"
        return sum(len(list((data / d).glob("*.jsonl"))) for d in ("raw_users", "processed_users"))

    def drop_aof_tail(self, rng: random.Random) -> int:
        """Cuts the newest AOF file back by up to 4 KB (Redis loads a truncated tail)."""
        files = sorted((self.root / "redis").glob("appendonlydir/*.incr.aof"), key=lambda p: p.stat().st_mtime)
        if not files:
            return 0
        newest = files[-1]
        size = newest.stat().st_size
        cut = min(size, rng.randint(200, 4096))
        os.truncate(newest, size - cut)
        return cut

    def start_server(self, process: definition.Process, component: str) -> None:
        process.start()
        self.definition.wait_ready(process, component, timeout=15)

    def start_redis(self) -> None:
        self.start_server(self.redis, "redis")

    def start_sshd(self) -> None:
        self.start_server(self.sshd, "sshd")

    def start(self) -> None:
        self.start_redis()
        self.start_sshd()
        self.start_server(self.fixture, "fixture-source")
        # Downstream first, so the clean run is not slowed by start-up order.
        for stage in ("saver", "transformer", "extractor"):
            for proc in self.stages[stage]:
                proc.start()

    def all_procs(self) -> list[definition.Process]:
        return [p for stage in STAGES for p in self.stages[stage]]

    def stop_stages(self) -> list[str]:
        """SIGTERM every stage; returns problems (non-zero exit, slow shutdown)."""
        problems = []
        for proc in self.all_procs():
            if proc.exited is not None:
                problems.append(f"{proc.name} was not running at the end (exit {proc.exited})")
                continue
            status, seconds = proc.terminate()
            self.shutdown_seconds[proc.name.rstrip("0123456789")] = max(
                self.shutdown_seconds.get(proc.name.rstrip("0123456789"), 0.0), seconds)
            if status != 0:
                problems.append(f"{proc.name}: SIGTERM -> exit {status} after {seconds:.1f}s")
        return problems

    def stop_all(self) -> None:
        for proc in self.all_procs() + [self.fixture, self.sshd, self.redis]:
            if proc.running:
                proc.terminate(5)

    # -- state --------------------------------------------------------------------------

    def runs(self) -> list[tuple[str, str, str | None]]:
        path = self.root / "db" / "data.db"
        if not path.exists():
            return []
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
                return db.execute("SELECT id, status, error FROM etl_runs ORDER BY id").fetchall()
        except sqlite3.Error:
            return []

    def quiescent(self) -> tuple[bool, str]:
        data = self.root / "data"
        if (data / "state" / "extractor_checkpoint.json").exists():
            return False, "extraction in progress"
        raws = sorted(p.name[len("records_"):-len(".jsonl")] for p in (data / "raw_users").glob("records_*.jsonl"))
        if not raws:
            return False, "no run yet"
        runs = {run_id: status for run_id, status, _ in self.runs()}
        waiting = [r for r in raws if runs.get(r) != "completed"]
        others = [f"{r}={s}" for r, s in runs.items() if s != "completed"]
        if waiting or others:
            return False, f"waiting for {len(set(waiting) | set(o.split('=')[0] for o in others))} run(s): " + \
                ", ".join(sorted(set(f"{r}={runs.get(r, 'unknown')}" for r in waiting) | set(others)))
        if not all(p.running for p in self.all_procs()):
            return False, "a stage is not running"
        return True, f"{len(raws)} run(s) completed"

    def snapshot(self) -> dict:
        """Per run: table -> Counter of record hashes; file kind -> (sha256, Counter); sftp shas."""
        data = self.root / "data"
        result: dict = {"runs": {}, "stray_temp_files": [], "remote_temp_files": []}
        db = sqlite3.connect(f"file:{self.root / 'db' / 'data.db'}?mode=ro", uri=True)
        for run_id, status, error in db.execute("SELECT id, status, error FROM etl_runs ORDER BY id"):
            run = {"status": status, "error": error, "tables": {}, "files": {}, "sftp": {}}
            for table in TABLES:
                counter: collections.Counter = collections.Counter()
                for (record,) in db.execute(f"SELECT record FROM {table} WHERE run_id = ?", (run_id,)):
                    counter[hashlib.sha1(record.encode() if isinstance(record, str) else record).digest()] += 1
                run["tables"][table] = counter
            for kind, path in run_files(data, run_id).items():
                if path.exists():
                    run["files"][kind] = (sha256_file(path), line_counter(path))
                remote = self.root / "sftp" / path.name
                run["sftp"][kind] = sha256_file(remote) if remote.exists() else None
            result["runs"][run_id] = run
        db.close()
        for directory in ("raw_users", "processed_users", "dlq"):
            result["stray_temp_files"] += [p.name for p in (data / directory).glob("*.tmp*")]
        result["remote_temp_files"] = [p.name for p in (self.root / "sftp").glob(".*.part-*")]
        return result


def run_files(data: Path, run_id: str) -> dict[str, Path]:
    return {
        "raw": data / "raw_users" / f"records_{run_id}.jsonl",
        "processed": data / "processed_users" / f"etl_{run_id}.jsonl",
        "dlq": data / "dlq" / f"invalid_users_{run_id}.jsonl",
    }


def wait_quiescent(stack: Stack, timeout: float, check=None) -> tuple[bool, str]:
    deadline = time.time() + timeout
    stable = 0
    reason = ""
    while time.time() < deadline:
        if check:
            check()
        done, reason = stack.quiescent()
        stable = stable + 1 if done else 0
        if stable >= 3:
            return True, reason
        time.sleep(1)
    return False, reason


# -- reference ----------------------------------------------------------------------------

def reference(args, keys: Path, work: Path) -> dict:
    """The clean result for (seed, users, fault rate): computed once, cached as JSON."""
    cache = work / f"reference-{args.seed}-{args.users}-{args.fault_rate}.json"
    if cache.exists():
        raw = json.loads(cache.read_text())
        return {
            "tables": {t: collections.Counter({bytes.fromhex(k): v for k, v in c.items()}) for t, c in raw["tables"].items()},
            "files": {k: (v[0], collections.Counter({bytes.fromhex(h): n for h, n in v[1].items()})) for k, v in raw["files"].items()},
            "seconds": raw["seconds"],
        }
    log(f"computing the clean reference (seed {args.seed}, {args.users} users)")
    root = Path(tempfile.mkdtemp(prefix="clean-", dir=work))
    stack = Stack(root, args, keys, args.seed, replicas=1)
    started = time.time()
    try:
        stack.start()
        ok, reason = wait_quiescent(stack, args.trial_timeout)
        if not ok:
            raise RuntimeError(f"the clean run did not complete: {reason}\n" + logs_tail(stack))
        seconds = time.time() - started
        stack.stop_stages()
        snap = stack.snapshot()
    finally:
        stack.stop_all()
    if len(snap["runs"]) != 1:
        raise RuntimeError(f"the clean run produced {len(snap['runs'])} runs")
    run = next(iter(snap["runs"].values()))
    ref = {"tables": run["tables"], "files": run["files"], "seconds": seconds}
    cache.write_text(json.dumps({
        "tables": {t: {k.hex(): v for k, v in c.items()} for t, c in ref["tables"].items()},
        "files": {k: [v[0], {h.hex(): n for h, n in v[1].items()}] for k, v in ref["files"].items()},
        "seconds": seconds,
    }))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    log(f"clean run: {seconds:.1f}s; rows " + ", ".join(f"{t}={sum(c.values())}" for t, c in ref["tables"].items()))
    return ref


def logs_tail(stack: Stack) -> str:
    return "\n".join(f"--- {p.name}\n{definition.tail(p.log_path, 15)}" for p in stack.all_procs())


# -- one trial ----------------------------------------------------------------------------

def trial(number: int, args, keys: Path, work: Path, ref: dict, rng: random.Random, totals: dict) -> None:
    replicas = 2 if number % 2 == 1 else 1
    # Redis restarts cycle: SIGTERM; kill -9; and kill -9 plus the loss of the AOF's tail
    # (what a power cut does to writes `appendfsync everysec` had not synced yet).
    redis_signal = ("TERM", "KILL", "POWERLOSS")[number % 3]
    root = Path(tempfile.mkdtemp(prefix=f"trial{number}-", dir=work))
    stack = Stack(root, args, keys, args.seed, replicas=replicas)
    horizon = max(ref["seconds"] * 1.3, 8.0)
    sftp_outage = 10.0 if args.quick else 30.0
    # The chaos plan: (time offset, action, argument).
    plan: list[tuple[float, str, object]] = []
    for _ in range(args.kills_per_trial):
        plan.append((rng.uniform(0.5, horizon), "kill", rng.choice(STAGES)))
    plan.append((rng.uniform(0.5, horizon * 0.8), "redis", redis_signal))
    plan.append((rng.uniform(0.5, horizon * 0.5), "sftp", sftp_outage))
    plan.append((rng.uniform(0.5, horizon * 0.7), "down", rng.choice(("transformer", "saver"))))
    plan.sort(key=lambda item: item[0])
    log(f"trial {number}: {args.users} users, replicas={replicas}, redis {redis_signal}, dir {root}")
    log("  plan: " + ", ".join(f"{t:.1f}s {a}:{x}" for t, a, x in plan))

    pending_restarts: list[tuple[float, str, object]] = []  # (time, what, proc)
    problems: list[str] = []

    def check_crashes() -> None:
        """A stage that exited on its own (not killed or stopped here) is a bug: record it
        and restart it, as a supervisor would, so the data can still be checked."""
        expected_down = {id(p) for r in pending_restarts if r[1] == "stage" for p in r[2]}
        for proc in stack.all_procs():
            if proc.exited is not None and id(proc) not in expected_down:
                problems.append(f"{proc.name} exited on its own with status {proc.exited}: "
                                + definition.tail(proc.log_path, 3).replace("\n", " | ")[-300:])
                log("  PROBLEM: " + problems[-1])
                proc.start()

    started = time.time()
    armed = None  # (armed at, final file count) of a pending power cut
    try:
        stack.start()
        while plan or pending_restarts or armed is not None:
            now = time.time() - started
            for item in [r for r in pending_restarts if r[0] <= now]:
                pending_restarts.remove(item)
                _, what, target = item
                if what == "redis":
                    stack.start_redis()
                    log(f"  {now:6.1f}s redis restarted")
                elif what == "sshd":
                    stack.start_sshd()
                    log(f"  {now:6.1f}s sshd restarted")
                else:
                    for proc in target:
                        proc.start()
                    log(f"  {now:6.1f}s restarted {', '.join(p.name for p in target)}")
            if plan and plan[0][0] <= now:
                _, action, argument = plan.pop(0)
                if action == "kill":
                    running = [p for p in stack.stages[argument] if p.running]
                    if not running:
                        # The stage is down (another action): kill it once it is back.
                        plan.append((now + 1.0, action, argument))
                        plan.sort(key=lambda item: item[0])
                        continue
                    proc = rng.choice(running)
                    proc.kill9()
                    totals["kills"][argument] += 1
                    delay = rng.uniform(0.2, 3.0)
                    pending_restarts.append((now + delay, "stage", [proc]))
                    log(f"  {now:6.1f}s kill -9 {proc.name}; restart in {delay:.1f}s")
                elif action == "redis" and argument == "POWERLOSS" and armed is None:
                    # Armed now, fired right after the next run file appears (an announcement
                    # is then among the last writes, the ones a power cut loses).
                    armed = (now, stack.final_file_count())
                    log(f"  {now:6.1f}s power cut armed: fires when the next run file appears")
                elif action == "redis":
                    if stack.redis.running:
                        if argument == "TERM":
                            stack.redis.terminate(10)
                        else:
                            stack.redis.kill9()
                        if argument == "POWERLOSS-FIRE":
                            lost_bytes = stack.drop_aof_tail(rng)
                            log(f"  {now:6.1f}s redis lost the last {lost_bytes} bytes of its AOF")
                        totals["redis_restarts"] += 1
                        delay = rng.uniform(1.0, 3.0)
                        pending_restarts.append((now + delay, "redis", None))
                        log(f"  {now:6.1f}s redis {argument.replace('-FIRE', '')}; restart in {delay:.1f}s")
                elif action == "sftp":
                    if stack.sshd.running:
                        stack.sshd.terminate(5)
                        totals["sftp_outages"] += 1
                        pending_restarts.append((now + float(argument), "sshd", None))
                        log(f"  {now:6.1f}s sshd stopped for {argument:.0f}s")
                elif action == "down":
                    procs = [p for p in stack.stages[argument] if p.running]
                    for proc in procs:
                        status, seconds = proc.terminate()
                        if status != 0:
                            problems.append(f"{proc.name}: SIGTERM mid-run -> exit {status} after {seconds:.1f}s")
                    delay = rng.uniform(5.0, 15.0)
                    totals["stage_downs"] += 1
                    pending_restarts.append((now + delay, "stage", procs))
                    log(f"  {now:6.1f}s {argument} stopped (SIGTERM) for {delay:.1f}s while upstream publishes")
            if armed is not None and (stack.final_file_count() != armed[1] or now - armed[0] > 20):
                armed = None
                time.sleep(rng.uniform(0.0, 0.3))
                plan.insert(0, (0.0, "redis", "POWERLOSS-FIRE"))
            check_crashes()
            time.sleep(0.05)

        ok, reason = wait_quiescent(stack, args.trial_timeout, check_crashes)
        elapsed = time.time() - started
        if not ok:
            problems.append(f"not every run completed within {args.trial_timeout:.0f}s: {reason}")
            log("  " + problems[-1] + "\n" + logs_tail(stack))
        problems += stack.stop_stages()
        snap = stack.snapshot()
    finally:
        stack.stop_all()

    lost = duplicated = corrupted = 0
    for run_id, run in snap["runs"].items():
        totals["runs"] += 1
        if run["status"] != "completed":
            problems.append(f"run {run_id} is {run['status']}: {run['error']}")
        for table in TABLES:
            l, d = counter_diff(ref["tables"][table], run["tables"][table])
            if l or d:
                problems.append(f"run {run_id} {table}: {l} row(s) lost, {d} duplicated")
            lost += l
            duplicated += d
        for kind, (ref_sha, ref_lines) in ref["files"].items():
            local = run["files"].get(kind)
            if local is None:
                corrupted += 1
                problems.append(f"run {run_id}: local {kind} file missing")
                continue
            if local[0] != ref_sha:
                corrupted += 1
                l, d = counter_diff(ref_lines, local[1])
                problems.append(f"run {run_id}: local {kind} file differs ({l} line(s) lost, {d} duplicated)")
            if run["sftp"].get(kind) != ref_sha:
                corrupted += 1
                problems.append(f"run {run_id}: SFTP {kind} file "
                                + ("missing" if run["sftp"].get(kind) is None else "differs"))
    if snap["stray_temp_files"]:
        log(f"  note: temporary files left by killed writers: {len(snap['stray_temp_files'])}")
    if snap["remote_temp_files"]:
        log(f"  note: remote temporary upload files left by killed savers: {len(snap['remote_temp_files'])}")
    for stage, seconds in stack.shutdown_seconds.items():
        totals["shutdown"][stage] = max(totals["shutdown"].get(stage, 0.0), seconds)
    totals["lost"] += lost
    totals["duplicated"] += duplicated
    totals["corrupted"] += corrupted
    totals["problems"] += [f"trial {number}: {p}" for p in problems]
    log(f"trial {number}: {len(snap['runs'])} run(s) in {elapsed:.1f}s; lost={lost} duplicated={duplicated} "
        f"corrupted={corrupted}" + (f"; {len(problems)} problem(s)" if problems else ""))
    for p in problems:
        log(f"  PROBLEM: {p}")
    if not args.keep and not problems:
        shutil.rmtree(root, ignore_errors=True)


def _interrupted(signum, frame):
    raise KeyboardInterrupt  # so every `finally` stops the processes it started


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--kills-per-trial", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42, help="fixture seed and chaos seed")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--quick", action="store_true", help="CI version: 2 trials, 3000 users, 3 kills, 10 s SFTP outage")
    parser.add_argument("--bin-dir", default=None,
                        help="where the executables are (default .build/release, else .build/debug)")
    parser.add_argument("--work-dir", default=None, help="where trial directories go (default: a temp dir)")
    parser.add_argument("--trial-timeout", type=float, default=300.0, help="seconds to wait for every run to complete")
    parser.add_argument("--keep", action="store_true", help="keep trial directories")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.users, args.kills_per_trial = min(args.trials, 2), min(args.users, 3000), min(args.kills_per_trial, 3)
    if args.bin_dir is None:
        release, debug = REPO / ".build" / "release", REPO / ".build" / "debug"
        args.bin_dir = str(release if (release / "saver").exists() or not (debug / "saver").exists() else debug)
    log(f"binaries: {args.bin_dir}")
    for exe in ("extractor", "transformer", "saver", "fixture-source"):
        if not os.access(Path(args.bin_dir) / exe, os.X_OK):
            print(f"chaos: {Path(args.bin_dir) / exe} is missing; run `swift build -c release` (or pass --bin-dir)",
                  file=sys.stderr)
            return 2
    for tool in ("redis-server", "ssh-keygen"):
        if shutil.which(tool) is None:
            print(f"chaos: {tool} is not installed", file=sys.stderr)
            return 2
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="etl-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    keys = work / "keys"  # one set for every trial, made by the first (scripts/generate-keys.sh)
    started = time.time()
    ref = reference(args, keys, work)
    rng = random.Random(args.seed)
    totals = {"kills": {s: 0 for s in STAGES}, "runs": 0, "lost": 0, "duplicated": 0, "corrupted": 0,
              "redis_restarts": 0, "sftp_outages": 0, "stage_downs": 0, "problems": [], "shutdown": {}}
    for number in range(1, args.trials + 1):
        trial(number, args, keys, work, ref, rng, totals)
    print(f"trials: {args.trials}")
    print("kills: " + " ".join(f"{s}={totals['kills'][s]}" for s in STAGES))
    print(f"runs: {totals['runs']}")
    print(f"rows lost: {totals['lost']}")
    print(f"rows duplicated: {totals['duplicated']}")
    print(f"files corrupted: {totals['corrupted']}")
    print(f"redis restarts: {totals['redis_restarts']}  sftp outages: {totals['sftp_outages']}  "
          f"stages kept down: {totals['stage_downs']}  elapsed: {time.time() - started:.0f}s")
    print("slowest SIGTERM exit (all exit 0 unless listed below): "
          + " ".join(f"{s}={v:.1f}s" for s, v in sorted(totals["shutdown"].items())))
    for problem in totals["problems"]:
        print(f"problem: {problem}")
    if not args.work_dir and not args.keep and not totals["problems"]:
        shutil.rmtree(work, ignore_errors=True)
    failed = totals["lost"] or totals["duplicated"] or totals["corrupted"] or totals["problems"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
