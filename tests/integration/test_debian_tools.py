"""The Debian-packaged servers run from the tool cache and serve on loopback."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import psycopg
import pytest

from nidc.local.tools.manifest import binary_path, load_manifest
from nidc.simulators.mosquitto_broker import MosquittoBroker
from nidc.simulators.postgres_server import PostgresServer

pytestmark = pytest.mark.integration


def test_mosquitto_runs_from_the_cache() -> None:
    result = subprocess.run(
        [str(binary_path("mosquitto")), "-h"], capture_output=True, text=True, timeout=10
    )
    version = load_manifest()["mosquitto"].version.split("-")[0]
    # `mosquitto -h` prints its usage and exits with 3; what matters is that it ran at all.
    assert f"mosquitto version {version}" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("binary", ["postgres", "initdb", "pg_ctl"])
def test_postgres_binaries_run_from_the_cache(binary: str) -> None:
    result = subprocess.run(
        [str(binary_path("postgresql", binary)), "--version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    version = load_manifest()["postgresql"].version.split("-")[0]
    assert result.stdout.startswith(f"{binary} (PostgreSQL) {version}"), result.stdout


def mqtt_connect_ack(port: int) -> bytes:
    """Send a bare MQTT 3.1.1 CONNECT and return the broker's reply (a CONNACK)."""
    client_id = b"nidc-probe"
    variable = b"\x00\x04MQTT\x04\x02\x00\x3c"
    payload = len(client_id).to_bytes(2, "big") + client_id
    body = variable + payload
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\x10" + bytes([len(body)]) + body)
        return sock.recv(4)


def test_mosquitto_broker_accepts_mqtt_and_restarts(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path) as broker:
        # CONNACK, remaining length 2, no session present, return code 0 (accepted).
        assert mqtt_connect_ack(broker.port) == b"\x20\x02\x00\x00"
        broker.restart()
        assert mqtt_connect_ack(broker.port) == b"\x20\x02\x00\x00"


def test_postgres_server_serves_sql_with_a_password() -> None:
    with PostgresServer(password="s3cret-test") as pg:
        address = f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres connect_timeout=10"
        # Logged in with the password, SQL runs: a table written and read back.
        with psycopg.connect(address, password="s3cret-test") as conn:
            version = conn.execute("SHOW server_version").fetchone()
            conn.execute("CREATE TABLE probe (n integer)")
            conn.execute("INSERT INTO probe SELECT generate_series(1, 10)")
            total = conn.execute("SELECT sum(n) FROM probe").fetchone()
        assert version is not None and version[0].startswith("15.")
        assert total == (55,)
        # The password is checked (scram-sha-256 on loopback TCP), not trusted.
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(address, password="wrong").close()


def test_a_security_pin_gone_from_the_archive_takes_the_newest_build(tmp_path: Path) -> None:
    # Debian's security archive keeps only a package's newest build: a pin there breaks at the
    # next update. The download falls back to the archive's candidate and logs it; a pin outside
    # the security archive still fails, naming the package.
    from nidc.local.tools.builders import BuildError, apt_download

    log = tmp_path / "build.log"
    gone = "fonts-wqy-microhei=0.0.0-gone"
    deb = apt_download(gone, tmp_path, log, newest_if_gone=True)
    assert deb.name.startswith("fonts-wqy-microhei_") and deb.stat().st_size > 0
    assert f"{gone} is gone from the archive" in log.read_text()
    with pytest.raises(BuildError, match="apt-cache policy fonts-wqy-microhei"):
        apt_download(gone, tmp_path, log)
