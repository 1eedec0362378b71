"""The secret key file: created once, atomically, whoever starts first."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

# Each process waits for the same instant, then makes its cipher and encrypts a word.
ENCRYPT = """
import sys, time
from pathlib import Path
from threadline.config import Settings
from threadline.kit.crypto import Cipher
start = float(sys.argv[2])
while time.time() < start:
    pass
settings = Settings(data_dir=Path(sys.argv[1]), secret_key="", database_url="")
print(Cipher.from_settings(settings).encrypt("the same key"))
"""

PROCESSES = 6


def _race(data_dir: Path) -> list[subprocess.CompletedProcess[str]]:
    start = time.time() + 2.0
    env = {key: value for key, value in os.environ.items() if not key.startswith("THREADLINE_")}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", ENCRYPT, str(data_dir), str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(racer.args, racer.returncode, out, err))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_processes_creating_the_key_file_together_end_up_with_one_key(
    round_: int, tmp_path: Path
) -> None:
    data_dir = tmp_path / f"data{round_}"
    results = _race(data_dir)
    assert [result.returncode for result in results] == [0] * PROCESSES, [
        result.stderr for result in results
    ]
    key_file = data_dir / "secret.key"
    fernet = Fernet(key_file.read_bytes().strip())
    for result in results:
        assert fernet.decrypt(result.stdout.strip().encode()) == b"the same key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(path.name for path in data_dir.iterdir()) == ["secret.key"]
