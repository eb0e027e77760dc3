"""How a native run opens its bronze table, on the real MinIO.

A source's first run creates the table with its first commit and does not open it again unless
something reads it (commit.OpenTables.bronze_created): a run that commits once opens nothing,
one that commits again opens the table first and still drops the keys the first commit wrote,
and the run's totals open it to report. A run with a checkpoint (landing.fromSequence) opens its
table without asking first whether there is one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from nidc.api.job_specs import IngestJob
from tests.landing import (
    LandingWriter,
    admin_store,
    bucket_made,
    native_job_store,
    sample,
    txn_commits,
)

pytestmark = pytest.mark.integration

BUCKET = "tenant-native-first-run-it"


@pytest.fixture
def new_source(
    platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any, Any]:
    """(store, admin client, factory of a new source: its landing writer and job)."""
    store = native_job_store(platform_env, monkeypatch)
    client = bucket_made(admin_store(platform_env), BUCKET)

    def source() -> tuple[LandingWriter, IngestJob]:
        tag, uid = uuid.uuid4().hex[:8], str(uuid.uuid4())
        writer = LandingWriter(client, BUCKET, "plant", f"press-{tag}", uid)
        job = IngestJob.model_validate(
            {
                "type": "mqtt",
                "source": writer.source,
                "namespace": "plant",
                "sourceUid": uid,
                "points": [{"name": "load", "address": "p/load", "identifier": "88.118.8/P.load"}],
                "target": f"s3a://{BUCKET}/it-{tag}/bronze",
                "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine",
                "landing": {"prefix": writer.prefix},
            }
        )
        return writer, job

    return store, client, source


@pytest.mark.timeout(180)
def test_a_first_run_of_one_commit_opens_its_new_table_only_for_the_totals(
    new_source: tuple[Any, Any, Any],
) -> None:
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively, table_totals
    from spark_jobs.ingest.native.commit import OpenTables

    store, _client, source = new_source
    writer, job = source()
    # Nine good samples and one that is not a number: bronze and quarantine both start here.
    writer.write(1, [sample("load", s, str(s)) for s in range(9)] + [sample("load", 9, "jam")])
    tables = OpenTables()
    done = ingest_device_batches_natively(store, job, lambda: None, tables=tables)
    assert done["rowsAdded"] == 9 and done["quarantinedAdded"] == 1
    assert tables.bronze is None and tables.bronze_created
    # The quarantine this run created is open (the totals read it; few runs make one).
    assert tables.quarantine is not None and tables.quarantine.version() == 0

    totals = table_totals(store, job, tables)
    assert totals["rows"] == 9 and totals["quarantinedRows"] == 1
    assert totals["tableVersion"] == 0 and totals["columnsDigest"]
    assert tables.bronze is not None and not tables.bronze_created


@pytest.mark.timeout(180)
def test_a_first_run_committing_twice_drops_the_keys_its_first_commit_wrote(
    new_source: tuple[Any, Any, Any],
) -> None:
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively, table_totals
    from spark_jobs.ingest.native.commit import OpenTables

    store, client, source = new_source
    writer, job = source()
    writer.write(1, [sample("load", s, str(s)) for s in range(10)])
    # Batch 2 repeats seconds 5-9 of batch 1 (a gateway's resend) and brings 10-14.
    writer.write(2, [sample("load", s, str(100 + s)) for s in range(5, 15)])
    tables = OpenTables()
    done = ingest_device_batches_natively(store, job, lambda: None, tables=tables)
    assert done["batches"] == 2 and done["rowsAdded"] == 15
    # The second commit opened the table the first one created.
    assert tables.bronze is not None and tables.bronze.version() == 1
    prefix = job.target.split("/", 3)[3]
    assert txn_commits(client, BUCKET, prefix, job.source_uid) == {1: 1, 2: 1}
    values = tables.bronze.to_pyarrow_table(columns=["value"]).column("value").to_pylist()
    assert sorted(values) == [float(v) for v in [*range(10), *range(110, 115)]]
    assert table_totals(store, job, tables)["rows"] == 15


@pytest.mark.timeout(180)
def test_a_run_with_a_checkpoint_opens_its_table_without_probing(
    new_source: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively

    store, _client, source = new_source
    writer, job = source()
    writer.write(1, [sample("load", s, str(s)) for s in range(5)])
    assert ingest_device_batches_natively(store, job, lambda: None)["rowsAdded"] == 5
    writer.write(2, [sample("load", s, str(s)) for s in range(5, 8)])
    assert job.landing is not None
    landing = job.landing.model_copy(update={"from_sequence": 1})

    def probed(_table: str) -> bool:
        raise AssertionError("a run with a checkpoint listed its table's log first")

    monkeypatch.setattr(store, "has_delta_log", probed)
    done = ingest_device_batches_natively(
        store, job.model_copy(update={"landing": landing}), lambda: None
    )
    assert done["batches"] == 1 and done["rowsAdded"] == 3
    assert done["checkpoint"] == {"batchSequence": 2}
