"""``--profile``: where the CPU goes, by function, in the processes of a measured phase.

py-spy (``pip install py-spy``; it attaches with ptrace, which works here as root)
samples each named process at ``RATE`` Hz while the phase runs, idle threads left out;
``--function`` folds line numbers into their function. Each recording is summarised into
the JSON (top 25 functions by own samples and by cumulative samples, entry and event-loop
frames left out of the latter, and own samples by package) and its raw collapsed stacks
are kept under ``bench/results/profiles/`` (flamegraph.pl or speedscope read them).

How to read it: py-spy counts a thread that is running *or runnable*, so on a saturated
machine a process waiting for a core is sampled too, mostly right after it woke another
process (``_SelectorSocketTransport.write``: the send that wakes PostgreSQL or the
sandbox); ``cpu_s_sampled`` beside ``cpu_s_measured`` (from /proc) says by how much.
SQLAlchemy's async work runs in greenlets, whose stacks py-spy shows as separate roots
(starting at ``Session.execute``), and uvloop's native frames are not shown (their time
goes to the Python frame below).

Without py-spy, the bench process's own phases fall back to cProfile (deterministic, and
wall time rather than CPU: its own and cumulative seconds, as pstats gives them); the
server processes are then not profiled. Profiling slows what it measures: read a
profiled run for its shape, not for its throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import pstats
import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.procs import VENV_BIN, cpu_seconds, log

RATE = 100
TOP = 25
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
#: Frames on (nearly) every stack: the entry point, the CLI and the event loop.
_ENTRY = re.compile(
    r"^<module> |\((asyncio/|typer/|click/|<frozen runpy>|selectors\.py|threadline/cli/"
    r"|uvicorn/(main|server|_compat)\.py|bench/__main__\.py|threadline:)"
)


def py_spy() -> str | None:
    """The py-spy executable (the venv's first), or None."""
    local = VENV_BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def _package(file: str) -> str:
    """The top-level package (or stdlib module) a frame's file belongs to."""
    parts = Path(file).parts
    for marker in ("site-packages", "src"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1 :]
            return rest[0].removesuffix(".py") if rest else file
    if "python3" in file or file.startswith("<"):
        return "stdlib" if not file.startswith("<") else file
    return parts[0].removesuffix(".py") if parts else file


def _short(frame: str) -> str:
    """``function (file:line)`` with the file relative to its package."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "src/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['function']} ({file}{line})"


def summarise_collapsed(text: str, *, rate: int = RATE) -> dict[str, Any]:
    """Own and cumulative samples per function of py-spy's raw (collapsed) output."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not _ENTRY.search(frame):
                cumulative[frame] += count
        match = _FRAME.match(stack.split(";")[-1])
        packages[_package(match["file"]) if match else "?"] += count

    def top(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "samples": n, "pct": round(100 * n / total, 1)}
            for name, n in counter.most_common(TOP)
        ]

    return {
        "tool": "py-spy",
        "samples": total,
        "cpu_s_sampled": round(total / rate, 2),
        "own_by_package": {name: round(100 * n / total, 1) for name, n in packages.most_common(12)}
        if total
        else {},
        "top_own": top(own),
        "top_cumulative": top(cumulative),
    }


def summarise_pstats(profiler: cProfile.Profile) -> dict[str, Any]:
    """Top functions by own and by cumulative time of a cProfile run (wall-clock seconds)."""
    stats = pstats.Stats(profiler)
    rows = [
        (f"{name} ({_short_file(file)}:{line})", tottime, cumtime)
        for (file, line, name), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    total = sum(row[1] for row in rows)

    def top(index: int) -> list[dict[str, Any]]:
        ordered = sorted(rows, key=lambda row: row[index], reverse=True)[:TOP]
        return [{"function": r[0], "seconds": round(r[index], 3)} for r in ordered]

    return {
        "tool": "cProfile (fallback: py-spy not installed)",
        "seconds_total_own": round(total, 2),
        "top_own": top(1),
        "top_cumulative": top(2),
    }


def _short_file(file: str) -> str:
    for marker in ("site-packages/", "src/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


class Profiler:
    """Records the CPU of named processes during chosen phases (``--profile``)."""

    def __init__(self, *, enabled: bool, out_dir: Path, prefix: str) -> None:
        self.enabled = enabled
        self.out_dir = out_dir
        self.prefix = prefix
        self.tool = py_spy()
        self.summaries: dict[str, dict[str, Any]] = {}

    @contextlib.asynccontextmanager
    async def record(self, label: str, pids: dict[str, int]) -> AsyncIterator[None]:
        """Profile ``pids`` (name -> pid) while the body runs; summaries go to ``summaries``."""
        if not self.enabled or not pids:
            yield
            return
        if self.tool is None:
            async with self._cprofile(label, pids):
                yield
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        spies = {name: self._spawn(label, name, pid) for name, pid in pids.items()}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        try:
            yield
        finally:
            used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            self.summaries[label] = {
                name: await asyncio.to_thread(self._collect, *spy)
                | {"cpu_s_measured": round(used[name], 2)}
                for name, spy in spies.items()
            }

    def _spawn(self, label: str, name: str, pid: int) -> tuple[subprocess.Popen[bytes], Path]:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.prefix}-{label}-{name}").strip("-")
        path = self.out_dir / f"{slug}.txt"
        argv = [str(self.tool), "record", "-p", str(pid), "-r", str(RATE), "--function"]
        argv += ["--format", "raw", "-o", str(path)]
        log(f"profiling {name} (pid {pid}) during {label} -> {path}")
        popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return popen, path

    @staticmethod
    def _collect(process: subprocess.Popen[bytes], path: Path) -> dict[str, Any]:
        """Stop py-spy (SIGINT makes it write its output) and summarise the file."""
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        if not path.exists():
            return {"error": f"py-spy wrote nothing: {stderr.decode(errors='replace')[-300:]}"}
        return summarise_collapsed(path.read_text()) | {"raw": str(path)}

    @contextlib.asynccontextmanager
    async def _cprofile(self, label: str, pids: dict[str, int]) -> AsyncIterator[None]:
        """Without py-spy: cProfile for this process, nothing for the others."""
        own = {name for name, pid in pids.items() if pid == os.getpid()}
        profiler = cProfile.Profile()
        if own:
            profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            self.summaries[label] = {
                name: summarise_pstats(profiler)
                if name in own
                else {"skipped": "py-spy is not installed (pip install py-spy)"}
                for name in pids
            }
