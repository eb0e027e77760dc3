"""kopf operators: one folder per kind (register.py, reconcile.py, build.py) plus shared machinery.

Layering (checked by import-linter): operators -> nidc.api / nidc.governance -> nidc.kube.
"""
