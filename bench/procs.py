"""Child processes (sandbox, server) and what /proc says about processes (CPU, RSS)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the final JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port nothing listens on right now (127.0.0.1 only)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A child process we started, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        """The end of its log (for error reports)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_ready(self, path: str, *, timeout: float = 60.0) -> None:
        """Poll ``path`` until it answers 200; fail early if the process died."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
                try:
                    if (await client.get(path)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def check_alive(self) -> None:
        """Raise (with its log) if the process has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it hangs. Only this pid."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def spawn(name: str, argv: list[str], *, env: dict[str, str], log_dir: Path, url: str) -> Child:
    """Start a child with stdout+stderr to a log file (never to our stdout)."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    return Child(name, process, log_path, url)


SANDBOX_URL_VAR = "THREADLINE_SANDBOX_URL"


def start_sandbox(log_dir: Path) -> Child:
    """The WhatsApp sandbox as its own uvicorn process (``threadline sandbox``)."""
    port = free_port()
    argv = [str(VENV_BIN / "threadline"), "sandbox", "--port", str(port), "--host", "127.0.0.1"]
    child = spawn(
        "sandbox", argv, env=dict(os.environ), log_dir=log_dir, url=f"http://127.0.0.1:{port}"
    )
    # Sandbox configs store no address: every process of this run (the bench's own
    # settings and the children's environment) sends them to this sandbox.
    os.environ[SANDBOX_URL_VAR] = child.url
    return child


def _threadline_env(
    *, database_url: str, secret_key: str, data_dir: Path, extra: dict[str, str] | None
) -> dict[str, str]:
    """The environment of a ``threadline`` child: ours minus any THREADLINE_*, plus these."""
    return (
        {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("THREADLINE_") or k == SANDBOX_URL_VAR
        }
        | {
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_SECRET_KEY": secret_key,
            "THREADLINE_SANDBOX_ENABLED": "false",
            "THREADLINE_DATA_DIR": str(data_dir),
            "THREADLINE_LOG_LEVEL": "warning",
        }
        | (extra or {})
    )


def start_server(
    log_dir: Path,
    *,
    database_url: str,
    secret_key: str,
    data_dir: Path,
    name: str = "server",
    extra_env: dict[str, str] | None = None,
) -> Child:
    """``threadline serve``: API + embedded worker in one uvicorn process, no sandbox.

    ``extra_env={"THREADLINE_EMBEDDED_WORKER": "false"}`` makes it the API alone.
    """
    port = free_port()
    listen = {"THREADLINE_PORT": str(port), "THREADLINE_HOST": "127.0.0.1"}
    env = _threadline_env(
        database_url=database_url,
        secret_key=secret_key,
        data_dir=data_dir,
        extra=listen | (extra_env or {}),
    )
    argv = [str(VENV_BIN / "threadline"), "serve"]
    return spawn(name, argv, env=env, log_dir=log_dir, url=f"http://127.0.0.1:{port}")


def start_worker(
    log_dir: Path,
    *,
    database_url: str,
    secret_key: str,
    data_dir: Path,
    name: str = "worker",
    extra_env: dict[str, str] | None = None,
    uvloop: bool = False,
) -> Child:
    """``threadline worker``: a worker process alone (no HTTP; ``url`` is empty).

    ``uvloop`` (a diagnostic) runs the same command with uvloop's event loop policy
    installed first; ``threadline worker`` itself uses asyncio's default loop.
    """
    env = _threadline_env(
        database_url=database_url, secret_key=secret_key, data_dir=data_dir, extra=extra_env
    )
    argv = [str(VENV_BIN / "threadline"), "worker"]
    if uvloop:
        snippet = (
            "import sys, uvloop; uvloop.install(); "
            "from threadline.cli.main import app; sys.argv = ['threadline', 'worker']; app()"
        )
        argv = [sys.executable, "-c", snippet]
    return spawn(name, argv, env=env, log_dir=log_dir, url="")


# /proc readings ------------------------------------------------------------------------


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime + stime of one process in seconds (0 if it is gone); with ``children``, plus
    the CPU of its exited, reaped children (how PostgreSQL's short-lived backends show)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def postgres_pids() -> list[int]:
    """Every process named ``postgres`` (server, backends, background workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first[:8]]
    idle = values[3] + values[4]
    total = sum(values)
    return (total - idle) / CLK_TCK, total / CLK_TCK


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    result: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                result[key] = int(value.split()[0])
    except OSError:
        pass
    return result


@dataclass
class CpuMeter:
    """CPU seconds spent by each named process (and the machine) between start and stop."""

    pids: dict[str, int]
    include_postgres: bool = False
    _start: dict[str, float] = field(default_factory=dict)
    _wall: float = 0.0
    _machine: tuple[float, float] = (0.0, 0.0)

    _pg_start: dict[int, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def _postgres(self) -> dict[int, float]:
        if not self.include_postgres:
            return {}
        return {pid: cpu_seconds(pid, children=True) for pid in postgres_pids()}

    def start(self) -> CpuMeter:
        self._start = self._sample()
        self._pg_start = self._postgres()
        self._wall = time.monotonic()
        self._machine = machine_cpu_seconds()
        return self

    def stop(self, operations: int) -> dict[str, object]:
        """CPU per component: seconds, share of one core, and ms per operation."""
        end = self._sample()
        if self.include_postgres:
            # A backend's CPU moves into the postmaster's reaped-children time when it
            # exits: new backends count from zero, and the CPU that backends gone since the
            # start had already used before it is taken back out of that.
            now = self._postgres()
            gone = sum(value for pid, value in self._pg_start.items() if pid not in now)
            end["postgres"] = (
                sum(value - self._pg_start.get(pid, 0.0) for pid, value in now.items()) - gone
            )
            self._start["postgres"] = 0.0
        wall = time.monotonic() - self._wall
        busy, total = machine_cpu_seconds()
        report: dict[str, object] = {"wall_s": round(wall, 3)}
        for name, value in end.items():
            used = value - self._start.get(name, 0.0)
            report[name] = {
                "cpu_s": round(used, 2),
                "cores": round(used / wall, 2) if wall else None,
                "cpu_ms_per_op": round(1000 * used / operations, 3) if operations else None,
            }
        busy_delta, total_delta = busy - self._machine[0], total - self._machine[1]
        report["machine_busy_pct"] = (
            round(100 * busy_delta / total_delta, 1) if total_delta else None
        )
        return report


@dataclass
class RssSampler:
    """Samples a process's VmRSS in the background; reports the peak and VmHWM."""

    pid: int
    interval: float = 0.25
    peak_kb: int = 0
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, memory_kb(self.pid).get("VmRSS", 0))
            await asyncio.sleep(self.interval)

    def start(self) -> RssSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
