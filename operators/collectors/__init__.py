"""How the operator runs a device source's collector: a local process (embedded platform) or a
one-replica Deployment (a cluster). The collector itself is nidc/collector/."""
