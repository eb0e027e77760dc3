"""The native job's process takes Arrow's memory from jemalloc (spark_jobs/ingest/native/run.py:
with many job processes at once, pyarrow's default cost a fifth more CPU), unless Arrow's own
ARROW_DEFAULT_MEMORY_POOL names a pool. Each case in a fresh interpreter: the pool is the
process's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PROGRAM = (
    "from spark_jobs.ingest.native.run import use_jemalloc_for_arrow\n"
    "import pyarrow as pa\n"
    "print(use_jemalloc_for_arrow(), pa.default_memory_pool().backend_name)\n"
)


def pool_of_a_job_process(setting: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if setting is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = setting
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True
    )
    said, used = done.stdout.split()
    assert said == used
    return used


def test_a_native_job_process_allocates_from_jemalloc() -> None:
    assert pool_of_a_job_process(None) == "jemalloc"


def test_arrows_own_setting_wins() -> None:
    assert pool_of_a_job_process("system") == "system"
    assert pool_of_a_job_process("mimalloc") == "mimalloc"
