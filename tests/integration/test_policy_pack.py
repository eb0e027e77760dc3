"""The policy pack, run by the Pulumi CLI (`pulumi preview --policy-pack`): the stacks as
committed pass; a stack configuration that breaks a rule is blocked, naming the rule."""

from __future__ import annotations

import pytest

from nidc.local.platform import LocalPlatform
from nidc.local.pulumi_workspace import REPO, StackWorkspace
from tests.stack_workspace import workspace

pytestmark = pytest.mark.integration

PACK = str(REPO / "policies" / "pulumi" / "nidc-policy-pack")

# (stack, `pulumi config` changes as (verb, --path key, value), the rule that must block it)
BROKEN = {
    "tls-on": ("national", [("set", "nidc:tls.enabled", "false")]),
    "no-public-buckets": (
        "national",
        [("set", "nidc:objectStore.buckets[0].access", "public-read")],
    ),
    "tenant-gpu-quota": ("local", [("rm", "nidc:tenants[0].spec.quotas.gpus", "")]),
    "grade3-in-region": (
        "national",
        [
            ("set", "nidc:objectStore.buckets[0].grade", "3"),
            ("set", "nidc:objectStore.buckets[0].region", "east"),
        ],
    ),
    "resource-limits": ("national", [("set", "nidc:objectStore.resources.limits.cpu", "none")]),
}


@pytest.fixture(scope="module")
def stacks(platform: LocalPlatform) -> dict[str, StackWorkspace]:
    return {name: workspace(platform, name) for name in ("national", "local")}


def preview_with_pack(ws: StackWorkspace) -> tuple[int, str]:
    result = ws.run("preview", "--stack", ws.stack, "--policy-pack", PACK, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("stack", ["national", "local"])
def test_committed_stacks_pass(stacks: dict[str, StackWorkspace], stack: str) -> None:
    code, out = preview_with_pack(stacks[stack])
    assert code == 0, out[-3000:]
    assert "nidc@v0.1.0" in out  # the pack really ran


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_broken_config_is_blocked(stacks: dict[str, StackWorkspace], rule: str) -> None:
    stack, changes = BROKEN[rule]
    ws = stacks[stack]
    stack_file = ws.root / f"Pulumi.{stack}.yaml"
    original = stack_file.read_text()
    try:
        for verb, key, value in changes:
            ws.run("config", verb, "--stack", stack, "--path", key, *([value] if value else []))
        code, out = preview_with_pack(ws)
    finally:
        stack_file.write_text(original)
    assert code != 0, out[-3000:]
    assert f"[mandatory]  {rule}" in out, out[-3000:]
