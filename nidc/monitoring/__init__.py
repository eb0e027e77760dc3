"""Monitoring: the alert rules (policies/alerts) rendered for Prometheus."""
