"""The analytics kernel on a GPU through CuPy gives the CPU's features (lent GPU machines only).

Marked gpu and not unit: `-m unit` and the default run leave it out; run it with `-m gpu` where
CuPy and a CUDA device exist.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.numpy
import numpy as np
import pytest

from spark_jobs.analytics.device import executor_device, to_host
from spark_jobs.analytics.kernel import window_features

pytestmark = pytest.mark.gpu

xp: Any = array_api_compat.numpy

RATE = 1000.0
EDGES = [0.0, 10.0, 40.0, 60.0, 200.0, 500.0]


def test_a_gpu_gives_the_cpu_features() -> None:
    gpu = executor_device(["0"])
    assert gpu.is_gpu, gpu.reason
    rng = np.random.default_rng(13)
    samples = rng.normal(0, 1, (16, 4096)) + np.sin(2 * np.pi * 50 * np.arange(4096) / RATE)
    offsets = np.tile(np.arange(4096) / RATE, (16, 1))
    on_gpu = window_features(gpu.xp, gpu.xp.asarray(samples), gpu.xp.asarray(offsets), RATE, EDGES)
    on_cpu = window_features(xp, xp.asarray(samples), xp.asarray(offsets), RATE, EDGES)
    for name, values in vars(on_cpu).items():
        np.testing.assert_allclose(
            to_host(getattr(on_gpu, name)), values, rtol=1e-9, atol=1e-12, err_msg=name
        )
