"""The operator's RBAC: the pure builders live in nidc.operator_rbac, where the stacks (which must
never import operators) read them too; this module keeps the operators' import path."""

from nidc.operator_rbac import (
    MANAGE,
    OPERATOR_NAME,
    OPERATOR_NAMESPACE,
    READ,
    build_operator_cluster_role,
    build_operator_identity,
)

__all__ = [
    "MANAGE",
    "OPERATOR_NAME",
    "OPERATOR_NAMESPACE",
    "READ",
    "build_operator_cluster_role",
    "build_operator_identity",
]
