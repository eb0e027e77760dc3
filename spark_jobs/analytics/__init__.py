"""The analytics library: equipment-health kernels over industrial time series (issue 17)."""
