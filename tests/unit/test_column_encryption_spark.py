"""AES-GCM through Spark's built-in functions: round trip, wrong key, the key out of plans."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from nidc.encryption.table_key import BASE64, EncryptedColumn, TableKey
from spark_jobs.column_encryption import decrypt_columns, encrypt_columns
from spark_jobs.ingest.encryption import encrypted_schema

pytestmark = pytest.mark.unit
CANARY = "CANARY-recipe-7f3a9c"


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # Only the fixture that made a session may stop it (another module's may be live).
    borrowed = SparkSession.getActiveSession() is not None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[1]")
        .appName("column-encryption-unit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    yield session
    if not borrowed:
        session.stop()


COLUMNS = [EncryptedColumn("recipe", "string"), EncryptedColumn("share", "double")]


def test_columns_round_trip_in_their_types_and_rows_differ_in_ciphertext(
    spark: SparkSession,
) -> None:
    key = secrets.token_bytes(32)
    frame = spark.createDataFrame(
        [(1, CANARY, 18.5), (2, CANARY, None)], "id int, recipe string, share double"
    )
    stored = encrypt_columns(spark, frame, COLUMNS, key)
    assert stored.columns == ["id", "recipe", "share"]
    assert stored.schema == encrypted_schema(frame.schema, COLUMNS)
    rows = stored.orderBy("id").collect()
    assert all(CANARY.encode() not in bytes(r["recipe"]) for r in rows)
    # A fresh IV per value: equal clear values are different ciphertexts; NULL stays NULL.
    assert bytes(rows[0]["recipe"]) != bytes(rows[1]["recipe"])
    assert rows[1]["share"] is None
    table_key = TableKey("transit", "k", 1, "vault:v1:x").with_columns(COLUMNS)
    back = decrypt_columns(spark, stored, table_key, key).orderBy("id").collect()
    assert [(r["id"], r["recipe"], r["share"]) for r in back] == [
        (1, CANARY, 18.5),
        (2, CANARY, None),
    ]


def test_another_key_does_not_decrypt(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(CANARY,)], "recipe string")
    stored = encrypt_columns(spark, frame, COLUMNS[:1], secrets.token_bytes(32))
    table_key = TableKey("transit", "k", 1, "vault:v1:x").with_columns(COLUMNS[:1])
    wrong = decrypt_columns(spark, stored, table_key, secrets.token_bytes(32))
    with pytest.raises(Exception, match=r"(?i)aes|decrypt|tag|crypto"):
        wrong.collect()


def test_quarantine_text_is_base64_ciphertext_and_clear_rows_stay_readable(
    spark: SparkSession,
) -> None:
    key = secrets.token_bytes(32)
    raw = [EncryptedColumn("raw", "string", BASE64)]
    frame = spark.createDataFrame([(f'{{"recipe": "{CANARY}"}}',)], "raw string")
    stored = encrypt_columns(spark, frame, raw, key)
    assert stored.schema == frame.schema  # quarantine's fixed schema is kept
    text = stored.collect()[0]["raw"]
    assert CANARY not in text
    older = spark.createDataFrame([("a clear row from before",)], "raw string")
    table_key = TableKey("transit", "k", 1, "vault:v1:x").with_columns(raw)
    back = decrypt_columns(spark, stored.unionByName(older), table_key, key).collect()
    assert sorted(r["raw"] for r in back) == sorted(
        [f'{{"recipe": "{CANARY}"}}', "a clear row from before"]
    )


def test_the_key_is_not_in_the_query_plan(spark: SparkSession) -> None:
    key = secrets.token_bytes(32)
    frame = spark.createDataFrame([(CANARY,)], "recipe string")
    stored = encrypt_columns(spark, frame, COLUMNS[:1], key)
    plan = stored._jdf.queryExecution().toString()  # analyzed, optimized and physical plans
    assert "aes_encrypt" in plan
    assert key.hex() not in plan.lower() and key.hex().upper() not in plan
