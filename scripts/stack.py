#!/usr/bin/env python3
"""The one definition of the no-Docker stack: how each server process is started.

Components: redis (redis-server, password in a config file, AOF), sshd (OpenSSH,
internal-sftp, config/sshd_config.template filled in), fixture-source, and the stages
extractor, transformer, saver and api. Everything one stack owns lives under its root:

    ROOT/stack.json              what `prepare` decided: ports, paths, options (mode 600)
    ROOT/secrets/                Redis password and event key, reused by later prepares
    ROOT/redis/  ROOT/sshd/      redis.conf and AOF; sshd_config and its pid file
    ROOT/pids/NAME.pid           processes started in the background by `start`
    ROOT/logs/ ROOT/keys/ ROOT/sftp/   unless --logs, --keys, --sftp-dir say otherwise

    stack.py prepare --root R [--only a,b] [options] [--json|--env]   ports, keys, configs
    stack.py up --root R [--only a,b] [options] [--json|--env]        prepare, then start all
    stack.py start|stop|kill --root R [NAME...]    background, with pid files (default: all)
    stack.py down --root R                         stop all, stages first
    stack.py status --root R                       NAME running PID | dead | stopped
    stack.py env --root R [--json]                 what the stages are configured with
    stack.py exec --root R NAME                    become the process (for a supervisor)
    stack.py port [--prefer N]                     a free loopback port

Used by scripts/local-stack.sh, chaos.py, dashboard-check.sh, lib/api-process.sh and the
Swift test harness (Tests/TestSupport). Only the Python 3 standard library is used.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Start order; stop goes the other way (stages before the Redis they checkpoint to).
COMPONENTS = ("redis", "sshd", "fixture-source", "api", "saver", "transformer", "extractor")
STAGES = ("api", "saver", "transformer", "extractor")
SERVERS = ("redis", "sshd", "fixture-source", "api")  # the components with a port
STAGE_SETTLE_SECONDS = 2.0  # a stage without a port counts as started if alive after this


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- ports --------------------------------------------------------------------------------

def port_open(port: int) -> bool:
    """Something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port(prefer: int = 0, name: str = "") -> int:
    """`prefer` when nothing listens there, else the next free one of the 100 after it;
    without `prefer`, one the kernel picks (free a moment ago)."""
    if not prefer:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for port in range(prefer, prefer + 100):
        if not port_open(port):
            if port != prefer:
                log(f"{name or 'port'}: port {prefer} is in use, using {port}")
            return port
    raise SystemExit(f"stack: {name}: no free port in {prefer}..{prefer + 99}")


# -- keys and secrets ---------------------------------------------------------------------

def make_keys(directory: Path, port: int, passphrase: str = "", host_key_types=()) -> None:
    """The project's one key generator, scripts/generate-keys.sh, for a stack's sshd."""
    argv = [str(REPO / "scripts" / "generate-keys.sh"), "--dir", str(directory), "--host", "127.0.0.1",
            "--port", str(port), "--passphrase", passphrase]
    for key_type in host_key_types:
        argv += ["--host-key-type", key_type]
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/generate-keys.sh failed: {result.stderr.strip()}")


def stored_secret(root: Path, name: str) -> str:
    """A random secret in ROOT/secrets/NAME (mode 600), so a stack restarted in the same root
    keeps its Redis data readable and its events verifiable."""
    path = root / "secrets" / name
    if not path.exists() or not path.read_text().strip():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def current_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def sshd_uses_pam() -> bool:
    """An unprivileged sshd cannot read the shadow file and calls every account locked
    without PAM; as root, PAM's session modules (pam_loginuid) fail in containers, so PAM only
    when root's own password is locked ('!'), which sshd without PAM refuses."""
    if os.getuid() != 0:
        return True
    if not Path("/etc/pam.d/sshd").exists():
        return False
    try:
        for line in Path("/etc/shadow").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == current_user():
                return fields[1].startswith("!")
    except OSError:
        pass
    return False


def ensure_privilege_separation_directory() -> None:
    """sshd running as root insists on /run/sshd, even to check its configuration."""
    if os.getuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)


def find_sshd() -> str:
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("sshd not found (package openssh-server)")


# -- processes ----------------------------------------------------------------------------

def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Process:
    """One restartable process in its own session, output appended to its log file. Started
    here, it is reaped here; found by its pid file (another invocation), it is signalled."""

    def __init__(self, name: str, argv: list[str], env: dict, cwd: Path, log_path: Path,
                 pid_file: Path | None = None):
        self.name, self.argv, self.env, self.cwd, self.log_path = name, argv, env, cwd, log_path
        self.pid_file = pid_file
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            out.write(f"==== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} starting {self.name}: "
                      f"{' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        if self.pid_file:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(f"{self.popen.pid}\n")

    @property
    def pid(self) -> int | None:
        if self.popen:
            return self.popen.pid
        try:
            pid = int(self.pid_file.read_text().strip()) if self.pid_file else 0
        except (OSError, ValueError):
            return None
        return pid if pid > 0 and self._is_ours(pid) else None

    def _is_ours(self, pid: int) -> bool:
        """The pid from the file still runs our executable (pids are reused)."""
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return os.path.basename(self.argv[0]).encode() in b" ".join(args)

    @property
    def running(self) -> bool:
        if self.popen:
            return self.popen.poll() is None
        pid = self.pid
        return pid is not None and pid_alive(pid)

    @property
    def exited(self) -> int | None:
        """The exit status of a process started here that ended by itself."""
        return self.popen.poll() if self.popen else None

    def kill9(self) -> None:
        if self.running:
            os.kill(self.pid, signal.SIGKILL)
            self._wait(10)
        self._forget()

    def terminate(self, timeout: float = 15.0) -> tuple[int | None, float]:
        """SIGTERM, wait; (exit status, seconds). SIGKILL to the session after `timeout`
        (status None); the status is None too for a process another invocation started."""
        started = time.time()
        if not self.running:
            self._forget()
            return (self.popen.returncode if self.popen else 0), 0.0
        pid = self.pid
        os.kill(pid, signal.SIGTERM)
        status = self._wait(timeout)
        if self.running:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                os.kill(pid, signal.SIGKILL)
            self._wait(10)
            status = None
        self._forget()
        return status, time.time() - started

    def _wait(self, timeout: float) -> int | None:
        if self.popen:
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
        deadline = time.time() + timeout
        while self.running and time.time() < deadline:
            time.sleep(0.1)
        return None

    def _forget(self) -> None:
        if self.pid_file and not self.running:
            self.pid_file.unlink(missing_ok=True)


# -- the stack ----------------------------------------------------------------------------

class Stack:
    """One stack's components in `root`, as `prepare` laid them out (ROOT/stack.json)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.state = json.loads((self.root / "stack.json").read_text())

    @classmethod
    def prepare(cls, root: Path, components=COMPONENTS, bin_dir: Path | None = None, ports: dict | None = None,
                keys: Path | None = None, logs: Path | None = None, sftp_dir: Path | None = None,
                cwd: Path | None = None, fixture: dict | None = None, passphrase: str = "",
                host_key_types=(), env: dict | None = None) -> "Stack":
        """Picks the ports (preferred ones from `ports`, else free ones), makes the keys,
        writes the configurations and ROOT/stack.json."""
        root = Path(root).resolve()
        unknown = set(components) - set(COMPONENTS)
        if unknown:
            raise SystemExit(f"stack: unknown component(s): {', '.join(sorted(unknown))}")
        for directory in ("redis", "sshd", "pids"):
            (root / directory).mkdir(parents=True, exist_ok=True)
        state = {
            "components": [c for c in COMPONENTS if c in components],
            "bin_dir": str(Path(bin_dir or REPO / ".build" / "release").resolve()),
            "keys": str(Path(keys or root / "keys").resolve()),
            "logs": str(Path(logs or root / "logs").resolve()),
            "sftp_dir": str(Path(sftp_dir or root / "sftp").resolve()),
            "cwd": str(Path(cwd or root).resolve()),
            "user": current_user(),
            "fixture": {"users": 1000, "invalid_rate": 0.1, "seed": 42, "fault_rate": 0.0, "retry_after": None,
                        **(fixture or {})},
            "host_key_types": list(host_key_types),
            "ports": {name: free_port((ports or {}).get(name, 0), name)
                      for name in SERVERS if name in components},
            "env": dict(env or {}),
        }
        write_private(root / "stack.json", json.dumps(state, indent=2) + "\n")
        stack = cls(root)
        if "redis" in components:
            stack._write_redis_config()
        if "sshd" in components:
            Path(state["sftp_dir"]).mkdir(parents=True, exist_ok=True)
            make_keys(stack.keys, state["ports"]["sshd"], passphrase, host_key_types)
            stack._write_sshd_config()
        return stack

    # -- layout

    @property
    def components(self) -> list[str]:
        return self.state["components"]

    @property
    def keys(self) -> Path:
        return Path(self.state["keys"])

    @property
    def logs(self) -> Path:
        return Path(self.state["logs"])

    def port(self, component: str) -> int:
        return self.state["ports"][component]

    @property
    def redis_password(self) -> str:
        return stored_secret(self.root, "redis-password")

    def _write_redis_config(self) -> None:
        # The password goes in a file, not on the command line where ps shows it.
        write_private(self.root / "redis" / "redis.conf", f"requirepass {self.redis_password}\n")

    def _write_sshd_config(self) -> None:
        host_keys = ["ed25519"] + self.state["host_key_types"]
        fields = {
            "@PORT@": str(self.port("sshd")),
            "@HOST_KEYS@": "\n".join(f"HostKey {self.keys / f'ssh_host_{t}_key'}" for t in host_keys),
            "@PID_FILE@": str(self.root / "sshd" / "sshd.pid"),
            "@AUTHORIZED_KEYS@": str(self.keys / "authorized_keys"),
            "@USER@": self.state["user"],
            "@USE_PAM@": "yes" if sshd_uses_pam() else "no",
            "@LOG_LEVEL@": "VERBOSE",
        }
        text = (REPO / "config" / "sshd_config.template").read_text()
        for name, value in fields.items():
            text = text.replace(name, value)
        config = self.root / "sshd" / "sshd_config"
        config.write_text(text)
        ensure_privilege_separation_directory()
        result = subprocess.run([find_sshd(), "-t", "-f", str(config)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"sshd rejected {config}: {result.stderr.strip()}")

    # -- what each component is

    def environment(self) -> dict[str, str]:
        """What the stack gives its stages: endpoints and credentials of its servers."""
        env = {}
        if "redis" in self.components:
            # The stages sign the events they hand over through Redis.
            env["EVENT_HMAC_KEY"] = stored_secret(self.root, "event-hmac-key")
            env["REDIS_URL"] = f"redis://:{self.redis_password}@127.0.0.1:{self.port('redis')}/0"
        if "sshd" in self.components:
            env.update({
                "SFTP_HOST": "127.0.0.1", "SFTP_PORT": str(self.port("sshd")), "SFTP_USER": self.state["user"],
                "SFTP_KEY_PATH": str(self.keys / "id_ed25519"), "SFTP_KNOWN_HOSTS": str(self.keys / "known_hosts"),
                # No chroot: uploads go to this absolute path.
                "SFTP_REMOTE_DIR": self.state["sftp_dir"],
            })
        if "fixture-source" in self.components:
            env["SOURCE_URL"] = f"http://127.0.0.1:{self.port('fixture-source')}/users"
        if "api" in self.components:
            env.update({"API_HOST": "127.0.0.1", "API_PORT": str(self.port("api"))})
        env.update(self.state["env"])
        return env

    def command(self, component: str) -> list[str]:
        bin_dir = Path(self.state["bin_dir"])
        if component == "redis":
            return ["redis-server", str(self.root / "redis" / "redis.conf"), "--bind", "127.0.0.1",
                    "--port", str(self.port("redis")), "--protected-mode", "yes", "--appendonly", "yes",
                    "--appendfsync", "everysec", "--save", "", "--dir", str(self.root / "redis"),
                    "--daemonize", "no", "--logfile", ""]
        if component == "sshd":
            return [find_sshd(), "-D", "-e", "-f", str(self.root / "sshd" / "sshd_config")]
        if component == "fixture-source":
            f = self.state["fixture"]
            argv = [str(bin_dir / "fixture-source"), "--host", "127.0.0.1", "--port", str(self.port(component)),
                    "--users", str(f["users"]), "--invalid-rate", str(f["invalid_rate"]), "--seed", str(f["seed"]),
                    "--fault-rate", str(f["fault_rate"])]
            return argv + (["--retry-after", str(f["retry_after"])] if f["retry_after"] is not None else [])
        return [str(bin_dir / component)]

    def process_env(self, component: str, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        if component in STAGES:
            env.update(self.environment())
        return env

    def process(self, component: str, name: str | None = None, extra_args=(), base_env: dict | None = None,
                pid_file: bool = False) -> Process:
        """`name` tells replicas apart (log NAME.log); pid files are for background starts."""
        name = name or component
        return Process(name, self.command(component) + list(extra_args), self.process_env(component, base_env),
                       Path(self.state["cwd"]), self.logs / f"{name}.log",
                       self.root / "pids" / f"{name}.pid" if pid_file else None)

    def ready(self, component: str) -> bool:
        """The component serves: Redis answers PING with the password (not while it loads its
        AOF), sshd sends its banner, the HTTP servers answer."""
        if component == "redis":
            return redis_ping(self.port("redis"), self.redis_password)
        if component == "sshd":
            return ssh_banner(self.port("sshd"))
        if component == "fixture-source":
            return http_ok(f"http://127.0.0.1:{self.port(component)}/users?limit=1")
        if component == "api":
            return http_ok(f"http://127.0.0.1:{self.port(component)}/health")
        return True

    def wait_ready(self, process: Process, component: str, timeout: float = 30.0) -> None:
        """Raises with the log's tail when the process exits or does not become ready."""
        deadline = time.time() + timeout
        settle = time.time() + (STAGE_SETTLE_SECONDS if component in STAGES else 0)
        while time.time() < deadline:
            if not process.running:
                raise RuntimeError(f"{process.name} exited at start:\n{tail(process.log_path)}")
            if time.time() >= settle and self.ready(component):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{process.name} was not ready after {timeout:.0f}s:\n{tail(process.log_path)}")

    def endpoints(self) -> dict:
        return {"root": str(self.root), "ports": self.state["ports"], "keys": str(self.keys),
                "logs": str(self.logs), "user": self.state["user"], "env": self.environment()}


def redis_ping(port: int, password: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            reply = b""
            while b"\r\n" not in reply.partition(b"\r\n")[2]:
                chunk = s.recv(256)
                if not chunk:
                    break
                reply += chunk
            return reply.split(b"\r\n")[:2] == [b"+OK", b"+PONG"]
    except OSError:
        return False


def ssh_banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def http_ok(url: str) -> bool:
    import urllib.request  # only here: it costs a tenth of a second at every start of this script
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- command line -------------------------------------------------------------------------

def start(stack: Stack, names: list[str], timeout: float) -> None:
    """Starts the named components in the background (pid files), all before waiting on any
    stage, so the stages' settle time is spent once."""
    if "sshd" in names:
        ensure_privilege_separation_directory()
    started = []
    for name in names:
        process = stack.process(name, pid_file=True)
        if process.running:
            raise RuntimeError(f"{name} is already running (pid {process.pid})")
        process.start()
        started.append((name, process))
        if name not in STAGES:
            stack.wait_ready(process, name, timeout)
            log(f"{name}: ready on 127.0.0.1:{stack.port(name)} (pid {process.pid})")
    for name, process in started:
        if name in STAGES:
            stack.wait_ready(process, name, timeout)
            log(f"{name}: running (pid {process.pid})")


def stop(stack: Stack, names: list[str], timeout: float, hard: bool = False) -> None:
    for name in reversed([c for c in COMPONENTS if c in names]):
        process = stack.process(name, pid_file=True)
        pid = process.pid
        if pid is None or not process.running:
            if process.pid_file.exists():
                log(f"{name}: not running (removing stale pid file)")
                process.pid_file.unlink()
            continue
        if hard:
            process.kill9()
            log(f"{name}: killed (pid {pid}, SIGKILL)")
            continue
        _, seconds = process.terminate(timeout)
        how = "SIGKILL after SIGTERM" if seconds >= timeout else "SIGTERM"
        log(f"{name}: stopped (pid {pid}, {how}, {seconds:.0f}s)")


def status(stack: Stack) -> None:
    for name in stack.components:
        process = stack.process(name, pid_file=True)
        if process.running:
            print(f"{name} running {process.pid}")
        else:
            print(f"{name} {'dead' if process.pid_file.exists() else 'stopped'}")


def print_endpoints(stack: Stack, as_json: bool, as_env: bool) -> None:
    if as_json:
        print(json.dumps(stack.endpoints(), indent=2))
    elif as_env:
        for name, value in stack.environment().items():
            print(f"{name}={value}")


def exec_component(stack: Stack, name: str) -> None:
    """Replaces this process with the component, for a caller that supervises it itself."""
    if name == "sshd":
        ensure_privilege_separation_directory()
    # Python ignores SIGPIPE, and an ignored signal stays ignored across exec.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # Only stdin, stdout and stderr: a descriptor the caller leaked (another child's pipe, in
    # a test process spawning many) would stay open as long as the server runs.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(stack.state["cwd"])
    argv = stack.command(name)
    os.execvpe(argv[0], argv, stack.process_env(name))


def key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    port = sub.add_parser("port", help="print a free loopback port")
    port.add_argument("--prefer", type=int, default=0, help="this one if free, else the next free one")
    port.add_argument("--name", default="", help="for the notice when PREFER is taken")
    for name in ("prepare", "up", "start", "stop", "kill", "down", "status", "env", "exec"):
        c = sub.add_parser(name)
        c.add_argument("--root", required=True, type=Path)
        if name in ("prepare", "up"):
            c.add_argument("--only", default=",".join(COMPONENTS), help="comma-separated components")
            c.add_argument("--bin-dir", type=Path)
            c.add_argument("--port", action="append", type=key_value, default=[], metavar="NAME=N",
                           help="preferred port of a component (the next free one if taken)")
            c.add_argument("--keys", type=Path)
            c.add_argument("--logs", type=Path)
            c.add_argument("--sftp-dir", type=Path)
            c.add_argument("--cwd", type=Path, help="working directory of the processes (default: root)")
            for option in ("users", "invalid-rate", "seed", "fault-rate", "retry-after"):
                c.add_argument(f"--fixture-{option}")
            c.add_argument("--key-passphrase", default="")
            c.add_argument("--host-key-type", action="append", default=[], help="a host key besides ed25519")
            c.add_argument("--set", action="append", type=key_value, default=[], metavar="NAME=VALUE",
                           help="a stage environment variable, over the stack's own")
        if name in ("prepare", "up", "env"):
            c.add_argument("--json", action="store_true")
            c.add_argument("--env", action="store_true", help="NAME=VALUE lines of the stage environment")
        if name in ("up", "start", "stop", "down"):
            c.add_argument("--timeout", type=float, default=30.0)
        if name in ("start", "stop", "kill", "exec"):
            c.add_argument("names", nargs="*" if name != "exec" else 1, metavar="NAME")
    return p


def prepare_from(args) -> Stack:
    fixture = {}
    for option, kind in (("users", int), ("invalid_rate", float), ("seed", int), ("fault_rate", float),
                         ("retry_after", int)):
        value = getattr(args, f"fixture_{option}")
        if value is not None:
            fixture[option] = kind(value)
    return Stack.prepare(
        args.root, components=[c for c in args.only.split(",") if c], bin_dir=args.bin_dir,
        ports={name: int(port) for name, port in args.port}, keys=args.keys, logs=args.logs,
        sftp_dir=args.sftp_dir, cwd=args.cwd, fixture=fixture, passphrase=args.key_passphrase,
        host_key_types=args.host_key_type, env=dict(args.set))


def main() -> int:
    args = parser().parse_args()
    if args.command == "port":
        print(free_port(args.prefer, args.name))
        return 0
    try:
        stack = prepare_from(args) if args.command in ("prepare", "up") else Stack(args.root)
        names = getattr(args, "names", None) or stack.components
        if set(names) - set(stack.components):
            raise RuntimeError(f"not in this stack: {', '.join(set(names) - set(stack.components))}")
        if args.command == "up":
            try:
                start(stack, stack.components, args.timeout)
            except (RuntimeError, KeyboardInterrupt):
                stop(stack, stack.components, 5)
                raise
        elif args.command == "start":
            start(stack, names, args.timeout)
        elif args.command in ("stop", "down"):
            stop(stack, names, args.timeout)
        elif args.command == "kill":
            stop(stack, names, 0, hard=True)
        elif args.command == "status":
            status(stack)
        elif args.command == "exec":
            exec_component(stack, names[0])
        if args.command in ("prepare", "up", "env"):
            print_endpoints(stack, args.json, args.env or not args.json)
    except (RuntimeError, FileNotFoundError) as error:
        print(f"stack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
