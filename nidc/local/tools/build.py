"""Install or build every tool of the manifest into the cache, reusing what is already there."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from nidc.local.tools.builders import BUILDERS, BuildError
from nidc.local.tools.manifest import (
    Tool,
    is_built,
    load_manifest,
    stamp_path,
    tool_cache_root,
    tool_dir,
)

HEARTBEAT_SECONDS = 30
LOG_TAIL_LINES = 40


def format_elapsed(seconds: float) -> str:
    """12.3 -> '12s', 135 -> '2m15s'."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a build log, for the failure message."""
    if not log.exists():
        return "(no log written)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


class Heartbeat:
    """Prints 'still building' lines while a long build runs, so CI logs show progress."""

    def __init__(self, label: str, log: Path, out: TextIO) -> None:
        self.label, self.log, self.out = label, log, out
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            elapsed = format_elapsed(time.monotonic() - self.started)
            print(f"      ... {self.label}: {elapsed} (log: {self.log})", file=self.out, flush=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def build_lock(tool: Tool, root: Path, out: TextIO, prefix: str) -> Iterator[None]:
    """Hold the tool's build lock: two processes sharing one cache never build it at once."""
    locks = root / "_locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{tool.name}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{prefix}: waiting for another build of it to finish", file=out, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_tool(tool: Tool, root: Path, out: TextIO) -> None:
    """Build one tool into <root>/<name>/<version>, atomically: stamped only when complete."""
    final = tool_dir(tool, root)
    logs = root / "_logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{tool.name}-{tool.version}.log"
    log.write_text(f"building {tool.name} {tool.version} from {tool.source} ({tool.method})\n")
    work = root / "_work" / f"{tool.name}-{tool.version}"
    staging = root / "_staging" / f"{tool.name}-{tool.version}"
    for folder in (work, staging):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    try:
        with Heartbeat(tool.name, log, out):
            BUILDERS[tool.method](tool, work, staging, log)
    except (BuildError, OSError, subprocess.SubprocessError) as error:
        raise BuildError(
            f"building {tool.name} {tool.version} failed: {error}\n"
            f"log: {log}\n--- last {LOG_TAIL_LINES} lines ---\n{log_tail(log)}"
        ) from error
    shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(final)
    stamp_path(tool, root).write_text(tool.recipe_hash() + "\n")
    shutil.rmtree(work, ignore_errors=True)


def register_pulumi_plugins(root: Path, out: TextIO) -> None:
    """Register the provider we built with the Pulumi CLI (`plugin install --file`)."""
    manifest = load_manifest()
    provider = manifest["pulumi-resource-kubernetes"]
    home = pulumi_home(root)
    marker = home / "plugins" / f"resource-kubernetes-v{provider.plugin_version}"
    if marker.exists():
        return
    pulumi = tool_dir(manifest["pulumi"], root) / "bin" / "pulumi"
    binary = tool_dir(provider, root) / "bin" / "pulumi-resource-kubernetes"
    print(f"      registering resource plugin kubernetes {provider.plugin_version}", file=out)
    subprocess.run(
        [
            str(pulumi),
            "plugin",
            "install",
            "resource",
            "kubernetes",
            provider.plugin_version,
            "--file",
            str(binary),
        ],
        check=True,
        env={**os.environ, "PULUMI_HOME": str(home), "PULUMI_SKIP_UPDATE_CHECK": "1"},
        stdout=subprocess.DEVNULL,
    )


def pulumi_home(root: Path | None = None) -> Path:
    """PULUMI_HOME for the platform: plugins registered here, never in the user's ~/.pulumi."""
    return (root or tool_cache_root()) / "pulumi-home"


def ensure_tools(names: Iterable[str] | None = None, out: TextIO = sys.stderr) -> None:
    """Build whatever of the manifest (or of `names`) is missing; print progress as it goes."""
    root = tool_cache_root()
    manifest = load_manifest()
    wanted = list(names) if names else list(manifest)
    unknown = [n for n in wanted if n not in manifest]
    if unknown:
        raise BuildError(f"unknown tools {unknown}; the manifest has {sorted(manifest)}")
    started = time.monotonic()
    for index, name in enumerate(wanted, 1):
        tool = manifest[name]
        prefix = f"[{index}/{len(wanted)}] {name} {tool.version}"
        if is_built(tool, root):
            print(f"{prefix}: cached", file=out, flush=True)
            continue
        with build_lock(tool, root, out, prefix):
            # Another checkout sharing the cache may have built it while we waited.
            if is_built(tool, root):
                print(f"{prefix}: built meanwhile by another process", file=out, flush=True)
                continue
            print(f"{prefix}: building ({tool.method} from {tool.source})", file=out, flush=True)
            tool_started = time.monotonic()
            build_tool(tool, root, out)
        print(
            f"{prefix}: built in {format_elapsed(time.monotonic() - tool_started)}",
            file=out,
            flush=True,
        )
    if {"pulumi", "pulumi-resource-kubernetes"} <= set(wanted):
        register_pulumi_plugins(root, out)
    print(
        f"tools ready in {root} ({format_elapsed(time.monotonic() - started)})",
        file=out,
        flush=True,
    )
