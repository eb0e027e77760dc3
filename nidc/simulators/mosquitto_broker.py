"""A real mosquitto broker (Debian package from the tool cache) on a free loopback port."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType

from nidc.local.ports import free_port
from nidc.local.process import stop
from nidc.local.state import port_is_open
from nidc.local.tools.manifest import binary_path

LOOPBACK = "127.0.0.1"


def broker_config(port: int, persistence_dir: Path) -> str:
    """mosquitto.conf for a test broker: loopback only, anonymous, sessions kept on disk.

    Persistence matters: a collector's persistent session (clean_start false) and its queued
    QoS 1 messages must survive a broker restart, which the disconnect tests do.
    """
    return (
        f"listener {port} {LOOPBACK}\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {persistence_dir}/\n"
        # Written on every change so a broker stopped with SIGTERM keeps every queued message.
        "autosave_interval 1\n"
        "autosave_on_changes true\n"
        # Tests queue many messages for an absent collector; the default caps at 1000.
        "max_queued_messages 0\n"
        "max_inflight_messages 100\n"
        # Running as root, mosquitto would switch to a `mosquitto` user that may not exist.
        "user root\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
    )


class MosquittoBroker:
    """Start/stop/restart one broker; `with MosquittoBroker(dir) as broker: broker.port`."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "mosquitto.log"

    def start(self, timeout: float = 15.0) -> None:
        """Start the broker and wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        persistence = self.workdir / "persistence"
        persistence.mkdir(exist_ok=True)
        config = self.workdir / "mosquitto.conf"
        config.write_text(broker_config(self.port, persistence))
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(binary_path("mosquitto")), "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not port_is_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not listen on {self.port}; see {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the broker (SIGTERM: it saves its persistent sessions first)."""
        if self.proc is not None:
            stop(self.proc.pid)
            self.proc.wait()
            self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down `down_for` seconds (a network outage), start on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
