"""The governed-copy job run after run, as the local runner starts it (`python -m spark_jobs.run
<run dir>`, its own JVM with the Delta jars of the tool cache) on local Delta tables: the product
is written by delta-rs and the copy read back by delta-rs, so neither side is the job's own code.

One run folder per run, in order: a copy of version 0; a retry of the same run that commits
nothing; a copy of version 1 with a hashed column; a run that fails (its spec's column type is
wrong) and leaves the last good copy. The HASH key reaches the job only through its environment,
and no file the runs leave behind holds it. Four JVMs: an integration test, though it needs no
server (tests/integration/test_governed_copy.py runs the job on the platform's object store).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from nidc.api.job_environment import MASK_HASH_KEY_ENV
from nidc.local.tools.manifest import local_spark_jvm_options

pytestmark = pytest.mark.integration

KEY = bytes(range(100, 132))
SCHEMA = pa.schema(
    [
        ("lot", pa.string()),
        ("plant", pa.string()),
        ("operator", pa.string()),
        ("weight", pa.float64()),
        ("made", pa.timestamp("us", tz="UTC")),
        ("recipe", pa.string()),
    ]
)
COLUMNS = [
    {"name": "lot", "sparkType": "string", "grade": 1},
    {"name": "plant", "sparkType": "string", "grade": 1},
    {"name": "operator", "sparkType": "string", "grade": 2},
    {"name": "weight", "sparkType": "double", "grade": 2},
    {"name": "made", "sparkType": "timestamp", "grade": 2},
    {"name": "recipe", "sparkType": "string", "grade": 3},
]


def lots(count: int, offset: int = 0) -> pa.Table:
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    rows = [
        {
            "lot": f"LOT-{n:05d}",
            "plant": "shanghai" if n % 3 else "wuhan",
            "operator": f"工号{n:06d}",
            "weight": 100.0 + n * 1.5,
            "made": start + dt.timedelta(days=n * 7),
            "recipe": f"CANARY-{n}",
        }
        for n in range(offset, offset + count)
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def jars() -> list[str]:
    try:
        from nidc.local.tools.manifest import spark_jars

        found = [str(p) for p in spark_jars()]
    except Exception:  # the tool cache is not built on this machine
        found = []
    if not found or not all(Path(j).exists() for j in found):
        pytest.fail("the Delta jars of the tool cache are missing (nidc tools build)")
    return found


def spec(tmp: Path, version: int, columns: list[dict[str, Any]] = COLUMNS) -> dict[str, Any]:
    return {
        "job": "governed-copy",
        "tenant": "steel-plant",
        "source": f"file://{tmp / 'product'}",
        "sourceVersion": version,
        "target": f"file://{tmp / 'copy'}",
        "columns": columns,
        "grantedColumns": ["lot", "operator", "weight", "made", "recipe"],
        "masks": [{"column": "weight", "type": "GENERALIZE", "width": 50}],
        "rowFilter": "plant = 'shanghai'",
        "txnAppId": "grant-uid-1",
        "txnVersion": version,
        "run": f"copy-v{version}",
        "storage": {"endpoint": "http://127.0.0.1:1"},
        "jars": jars(),
        "jvmOptions": local_spark_jvm_options(),  # as the local runner starts it
        "master": "local[1]",
    }


def run_job(folder: Path, job: dict[str, Any]) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(job))
    env = {**os.environ, MASK_HASH_KEY_ENV: KEY.hex(), "NIDC_LOCAL_JOB_SLOTS": "1"}
    with (folder / "log").open("wb") as log:
        subprocess.run(
            [sys.executable, "-m", "spark_jobs.run", str(folder)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )
    for name in ("result.json", "failure.json"):
        if (folder / name).exists():
            return {name: json.loads((folder / name).read_text())}
    raise AssertionError((folder / "log").read_text()[-3000:])


LOT_HASH = {"column": "lot", "type": "HASH"}


def digest(text: str) -> str:
    """HMAC-SHA256 of the text under KEY, by the standard library."""
    return hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()


def show_last_4(text: str) -> str:
    return "x" * (len(text) - 4) + text[-4:]


def expected(table: pa.Table) -> list[dict[str, Any]]:
    out = []
    for row in table.to_pylist():
        if row["plant"] != "shanghai":
            continue
        low = int(row["weight"] // 50 * 50)
        out.append(
            {
                "lot": row["lot"],
                "operator": show_last_4(row["operator"]),
                "weight": f"{low}-{low + 50}",
                "made": dt.datetime(row["made"].year, 1, 1, tzinfo=dt.UTC),
                "recipe": None,
            }
        )
    return out


def test_the_job_copies_masks_retries_and_keeps_the_last_good_copy(tmp_path: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    product = tmp_path / "product"
    first, second = lots(40), lots(25, offset=40)
    write_deltalake(str(product), first)
    write_deltalake(str(product), second, mode="overwrite")

    done = run_job(tmp_path / "runs" / "v0", spec(tmp_path, 0))
    assert set(done) == {"result.json"}, done
    copy = DeltaTable(str(tmp_path / "copy"))
    rows = sorted(copy.to_pyarrow_table().to_pylist(), key=lambda r: r["lot"])
    assert copy.schema().to_arrow().names == ["lot", "operator", "weight", "made", "recipe"]
    assert rows == expected(first)  # version 0, though version 1 is the latest
    assert copy.metadata().configuration["nidc.sourceVersion"] == "0"
    assert done["result.json"]["sourceVersion"] == 0
    committed = copy.version()

    again = run_job(tmp_path / "runs" / "v0-retry", spec(tmp_path, 0))
    assert set(again) == {"result.json"}
    assert DeltaTable(str(tmp_path / "copy")).version() == committed  # nothing committed

    hashed = {**spec(tmp_path, 1), "masks": [*spec(tmp_path, 1)["masks"], LOT_HASH]}
    run_job(tmp_path / "runs" / "v1", hashed)
    copy = DeltaTable(str(tmp_path / "copy"))
    rows = sorted(copy.to_pyarrow_table().to_pylist(), key=lambda r: r["lot"])
    want = [{**row, "lot": digest(row["lot"])} for row in expected(second)]
    assert rows == sorted(want, key=lambda r: r["lot"])
    assert copy.metadata().configuration["nidc.sourceVersion"] == "1"
    good = copy.version()

    wrong = [c if c["name"] != "weight" else {**c, "sparkType": "string"} for c in COLUMNS]
    failed = run_job(tmp_path / "runs" / "v1-wrong", {**spec(tmp_path, 1, wrong), "txnVersion": 2})
    assert "column weight is double in the source version" in failed["failure.json"]["reason"]
    assert DeltaTable(str(tmp_path / "copy")).version() == good

    # The key went in through the environment only: no trace of it, or of its pads, on disk.
    pad = bytes(b ^ 0x36 for b in KEY.ljust(64, b"\0")).hex()
    for path in (tmp_path / "runs").rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode(errors="replace").lower()
            assert KEY.hex() not in text and pad not in text, path
