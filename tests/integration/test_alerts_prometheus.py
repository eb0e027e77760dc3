"""Alerts in the metrics backend (issue 18, must-show 2): Prometheus, started by the local
platform, scrapes the operator's OTLP metrics from the collector and evaluates policies/alerts;
ProductStale fires when a product's last successful run is older than the local profile's limit
(60 s) and clears once a new run made it fresh, seen in Prometheus' HTTP API and on the
console's alerts page (the product's tenant sees it, another tenant does not)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import requests

from nidc.kube import apply, delete, get
from tests.cluster import condition

TENANT = "steel-plant"
SUFFIX = uuid.uuid4().hex[:5]
PRODUCT = f"stale-watch-{SUFFIX}"
OWNER = {"name": "Wang Li", "email": "wang.li@steel.example.cn"}


def product(history_limit: int) -> dict[str, Any]:
    """A spec change (historyLimit) is what makes the product run again."""
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": PRODUCT, "namespace": TENANT},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
            "transform": {"sql": "SELECT line, max(value) AS peak FROM line_sensors GROUP BY line"},
            "historyLimit": history_limit,
            "maxAttempts": 1,
            "owner": OWNER,
            "targetTable": f"silver.stale_watch_{SUFFIX}",
        },
    }


def prometheus(env: dict[str, Any], path: str, **params: str) -> Any:
    url = env["servers"]["prometheus"]["url"]
    answer = requests.get(f"{url}{path}", params=params, verify=env["ca_file"], timeout=10)
    answer.raise_for_status()
    body = answer.json()
    assert body["status"] == "success", body
    return body["data"]


def stale_alert(env: dict[str, Any]) -> dict[str, Any] | None:
    """Our product's ProductStale alert as the alerts API lists it (pending or firing)."""
    for alert in prometheus(env, "/api/v1/alerts")["alerts"]:
        labels = alert["labels"]
        if labels.get("alertname") == "ProductStale" and labels.get("product") == PRODUCT:
            return alert  # type: ignore[no-any-return]
    return None


def console_page(env: dict[str, Any], identity: str, path: str) -> requests.Response:
    """A console page as one identity of the user kubeconfig sees it."""
    pki = Path(env["state_dir"]) / "pki"
    return requests.get(
        f"{env['servers']['catalog-api']['console']}{path}",
        cert=(str(pki / f"client-{identity}.crt"), str(pki / f"client-{identity}.key")),
        verify=env["ca_file"],
        timeout=30,
    )


def console_alerts(env: dict[str, Any], identity: str) -> str:
    """The console's alerts page as one identity of the user kubeconfig sees it (its HTML)."""
    answer = console_page(env, identity, "alerts")
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def succeeded_run(api: Any, generation: int) -> dict[str, Any] | None:
    found = get(api, "nidc.io/v1alpha1", "DataProduct", PRODUCT, TENANT)
    if found is None:
        return None
    status = found.get("status") or {}
    if (
        status.get("observedGeneration") == generation
        and condition(found, "Ready").get("reason") == "Succeeded"
    ):
        return found
    return None


def test_a_stale_product_fires_an_alert_that_clears_when_it_is_fresh_again(
    tenants: Any, operator: Any, line_sensors: str, platform_env: dict[str, Any]
) -> None:
    env = platform_env
    # The rules are loaded and the collector is scraped.
    groups = prometheus(env, "/api/v1/rules", type="alert")["groups"]
    assert "ProductStale" in {r["name"] for g in groups for r in g["rules"]}
    targets = prometheus(env, "/api/v1/targets")["activeTargets"]
    assert [t["health"] for t in targets if t["labels"]["job"] == "nidc-otel-collector"] == ["up"]
    try:
        apply(tenants, product(1))
        first = wait("the first run", lambda: succeeded_run(tenants, 1), 300)
        # The age gauge reaches Prometheus, then passes the 60 s limit: the alert fires.
        query = f'nidc_product_data_age_seconds{{product="{PRODUCT}"}}'
        wait("the age series", lambda: prometheus(env, "/api/v1/query", query=query)["result"], 90)
        firing = wait(
            "ProductStale to fire",
            lambda: (a := stale_alert(env)) and a["state"] == "firing" and a,
            180,
        )
        assert float(firing["value"]) > 60
        assert firing["labels"]["namespace"] == TENANT and firing["labels"]["severity"] == "warning"
        # The console shows it to the product's tenant, not to another tenant.
        row = f"<code>product={PRODUCT}</code>"
        assert row in console_alerts(env, "steel-plant-admin")
        assert row not in console_alerts(env, "equipment-maker-admin")

        # A new successful run makes it fresh: the alert clears.
        fresh_generation = apply(tenants, product(2))["metadata"]["generation"]
        fresh = wait("the second run", lambda: succeeded_run(tenants, fresh_generation), 300)
        assert fresh["status"]["lastRun"]["name"] != first["status"]["lastRun"]["name"]
        wait("ProductStale to clear", lambda: stale_alert(env) is None, 60)
        assert row not in console_alerts(env, "platform-admin")

        # The product's runs on its console table page (the browser test has no Spark run of
        # its own), the newest linked to its trace, which the trace backend holds.
        table = f"tables/{TENANT}/silver.stale_watch_{SUFFIX}"
        page = wait(
            "the table page with the newest run",
            lambda: (
                (r := console_page(env, "steel-plant-admin", table)).status_code == 200
                and fresh["status"]["lastRun"]["name"] in r.text
                and r.text
            ),
            60,
        )
        traces = set(re.findall(r'href="[^"]*/trace/([0-9a-f]{32})"', page))
        assert traces, page[-3000:]
        jaeger = env["servers"]["jaeger"]["query_url"]

        def stored(trace: str) -> bool:
            found = requests.get(f"{jaeger}/api/traces/{trace}", verify=env["ca_file"], timeout=10)
            return found.status_code == 200

        for trace in traces:
            wait(f"trace {trace} in the trace backend", partial(stored, trace), 60)
    finally:
        delete(tenants, "nidc.io/v1alpha1", "DataProduct", PRODUCT, TENANT)
