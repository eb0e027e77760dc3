"""Pure parts of the local platform: nodes, configs, certificates, env output."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509

from nidc.local.identities import user_identities
from nidc.local.pki import CertificateAuthority
from nidc.local.platform import shell_exports, wait_for
from nidc.local.servers.base import HealthError
from nidc.local.servers.kwok import build_nodes
from nidc.local.state import PlatformState
from spark_jobs.session import ObjectStore, build_spark_conf

pytestmark = pytest.mark.unit


def test_kwok_nodes_one_cpu_one_gpu_with_taint() -> None:
    cpu, gpu = build_nodes()
    assert "nvidia.com/gpu" not in cpu["status"]["capacity"]
    assert gpu["status"]["capacity"]["nvidia.com/gpu"] == "4"
    assert gpu["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    ]
    for node in (cpu, gpu):
        assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"


def test_identities_platform_admin_first_then_admin_and_analyst_per_tenant() -> None:
    names = [i.name for i in user_identities(("a", "b"))]
    assert names == ["platform-admin", "a-admin", "a-analyst", "b-admin", "b-analyst"]
    analyst = user_identities(("a",))[2]
    assert analyst.groups == ("nidc:tenant:a:analysts",)


def test_ca_issues_certificates_with_private_keys_0600(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "pki")
    pair = ca.issue("client-x", "alice", ("team",), client=True)
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    assert cert.subject.rfc4514_string() == "CN=alice,O=team"
    assert stat.S_IMODE(pair.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.ca.key.stat().st_mode) == 0o600
    # Issued once, then reused.
    assert ca.issue("client-x", "alice", ("team",), client=True).cert.read_bytes() == (
        pair.cert.read_bytes()
    )
    server = x509.load_pem_x509_certificate(ca.issue("server", "s", server=True).cert.read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)


def test_ports_are_allocated_once_and_kept(tmp_path: Path) -> None:
    state = PlatformState(tmp_path)
    state.ensure_dirs()
    first = state.port("etcd-client")
    assert state.port("etcd-client") == first
    assert state.port("etcd-peer") != first
    assert PlatformState(tmp_path).port("etcd-client") == first


def test_shell_exports_never_print_secret_values(tmp_path: Path) -> None:
    secret_file = tmp_path / "s3-root-password"
    secret_file.write_text("hunter2-canary\n")
    env = {
        "state_dir": "/s",
        "kubeconfig": "/s/kubeconfig",
        "ca_file": "/s/pki/ca.crt",
        "pulumi_home": "/p",
        "tool_bins": ["/t/bin"],
        "servers": {
            "minio": {
                "url": "https://127.0.0.1:1",
                "access_key": "root",
                "secret_key_file": str(secret_file),
                "region": "us-east-1",
            },
            "openbao": {"url": "https://127.0.0.1:2", "root_token_file": "/s/secrets/t"},
            "jaeger": {"otlp_grpc": "https://127.0.0.1:3", "query_url": "https://127.0.0.1:4"},
        },
    }
    out = shell_exports(env)
    assert "hunter2-canary" not in out
    assert f'export AWS_SECRET_ACCESS_KEY="$(cat "{secret_file}")"' in out
    assert 'export KUBECONFIG="/s/kubeconfig"' in out


def test_spark_conf_keeps_credentials_out_and_trusts_the_ca() -> None:
    conf = build_spark_conf(
        ObjectStore(
            "https://127.0.0.1:9000", truststore=Path("/pki/t.p12"), truststore_password="pw"
        ),
        [Path("/j/delta.jar"), Path("/j/aws.jar")],
        "job",
    )
    # Local mode: the jars are on the driver's class path, never copied per session.
    assert conf["spark.driver.extraClassPath"] == "/j/delta.jar:/j/aws.jar"
    assert "spark.jars" not in conf
    cluster = build_spark_conf(ObjectStore("https://s3"), [Path("/j/delta.jar")], "job", "k8s://x")
    assert cluster["spark.jars"] == "/j/delta.jar"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"
    assert "-Djavax.net.ssl.trustStore=/pki/t.p12" in conf["spark.driver.extraJavaOptions"]
    assert not any("secret" in key or "access.key" in key for key in conf)


def answers(*replies: str) -> Callable[[], str]:
    """A health check giving each reply in turn, then the last for ever; "not ..." is unhealthy."""
    queue = list(replies)

    def check() -> str:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.startswith("not "):
            raise HealthError(reply)
        return reply

    return check


def test_wait_for_polls_until_healthy_and_reports_progress_meanwhile() -> None:
    said: list[str] = []
    check = answers(*["not yet: sealed"] * 4, "active")
    result = wait_for(check, time.monotonic() + 30, lambda: True, said.append, progress_every=0.2)
    assert result == "active"
    assert said and all(line == "not yet: sealed" for line in said)


def test_wait_for_gives_up_at_the_deadline_with_the_last_answer() -> None:
    started = time.monotonic()
    with pytest.raises(HealthError, match=r"not healthy within \d+s: not raft leader"):
        wait_for(answers("not raft leader"), started + 1.0, lambda: True)
    assert 1.0 <= time.monotonic() - started < 10


def test_wait_for_stops_early_when_the_process_died() -> None:
    with pytest.raises(HealthError, match=r"the process exited \(not listening\)"):
        wait_for(answers("not listening"), time.monotonic() + 60, lambda: False)
