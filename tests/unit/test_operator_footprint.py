"""The operator process starts without the data libraries its jobs use (issue 13's memory goal).

pyarrow with numpy is ~40 MiB of the operator's resident memory, jieba and pypinyin ~75 MiB: the
operator reads collector reports and classifies names only on first use, and the jobs (their own
processes) do the Arrow and Spark work. Importing a module that pulls one of them in at import
time shows up here, not only as a higher figure in bench/operator.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

HEAVY = ("pyarrow", "numpy", "pandas", "deltalake", "pyspark", "jieba", "pypinyin")


def test_importing_the_operator_loads_no_data_library() -> None:
    probe = (
        "import json, sys\n"
        "import operators.main\n"
        f"print(json.dumps(sorted(set({list(HEAVY)!r}) & set(sys.modules))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
