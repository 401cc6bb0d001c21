"""The bot as a separate operating-system process, for tests that kill it.

`BotProcess` runs `python -m bot run` (what `petition-bot run` runs) with `PETITION_*` settings
in its environment and its output appended to a log file, so a test can start it, SIGKILL it
at any moment (no `finally`, no shutdown: as a power cut or the OOM killer would), start it
again on the same database, and show the log's tail when something went wrong. Each start is
marked in the log, so `ready()` only reads what the current run wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY = "bot ready"  # logged by bot.app once the bot is set up and about to take updates


def bot_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any `PETITION_*` variable, plus `settings` (given
    without the prefix), with the project importable."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PETITION_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update({f"PETITION_{name.upper()}": value for name, value in settings.items()})
    return env


class BotProcess:
    """One `petition-bot run` process that can be started, killed and started again."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self._run_offset = 0  # where the current run's output begins in the log

    def __repr__(self) -> str:
        return f"BotProcess({self.name!r}, pid={self.pid}, starts={self.starts})"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        assert not self.running, f"{self.name} is running already"
        self.starts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {self.name}: start #{self.starts} =====\n".encode())
            log.flush()
            self._run_offset = log.tell()
            # The child gets its own copy of the descriptor; ours is closed at once.
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def ready(self, within: float = 30.0) -> None:
        """Wait until the current run logged that it is ready; fail if it exits first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while READY not in self.output():
            if not self.running:
                raise AssertionError(f"{self.name} exited while starting:\n{self.tail()}")
            if loop.time() > deadline:
                raise AssertionError(
                    f"{self.name} was not ready within {within:g} s:\n{self.tail()}"
                )
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: the process ends at once, in whatever it was doing."""
        assert self.process is not None and self.running, f"{self.name} is not running"
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1
        with self.log_path.open("ab") as log:
            log.write(f"===== {self.name}: SIGKILL =====\n".encode())

    async def stop(self, within: float = 30.0) -> int | None:
        """SIGTERM and wait for the exit (SIGKILL after `within` seconds); the exit code."""
        if self.process is None:
            return None
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        """What the current run has written so far."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._run_offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return f"({self.name}: no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(f"  {self.name}| {line}" for line in text[-lines:])
