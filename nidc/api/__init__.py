"""Typed models of every custom resource, one file per kind; crds/ is generated from them."""
