"""The clients every reconciler uses, made once at operator start-up (kept in kopf's memo)."""

from __future__ import annotations

from dataclasses import dataclass

from nidc.kube import ApiClient, in_cluster_or_kubeconfig
from operators.object_store import ObjectStoreAdmin
from operators.openbao import OpenBaoAdmin
from operators.settings import OperatorSettings


@dataclass
class OperatorContext:
    """Kubernetes, OpenBao and S3 clients plus the settings they were made from."""

    settings: OperatorSettings
    api: ApiClient
    openbao: OpenBaoAdmin
    store: ObjectStoreAdmin

    @classmethod
    def create(cls, settings: OperatorSettings) -> OperatorContext:
        return cls(
            settings=settings,
            api=in_cluster_or_kubeconfig(),
            openbao=OpenBaoAdmin(settings),
            store=ObjectStoreAdmin(settings),
        )
