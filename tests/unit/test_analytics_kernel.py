"""The equipment-health kernel against SciPy on signals whose spectra and moments are known."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import array_api_compat.numpy
import numpy as np
import pytest
from scipy import signal, stats

from spark_jobs.analytics.device import executor_device, to_host
from spark_jobs.analytics.kernel import robust_scores, window_features

pytestmark = pytest.mark.unit

# The namespace is built at import time; typed loosely, as the kernel takes it.
xp: Any = array_api_compat.numpy

RATE = 1000.0
EDGES = [0.0, 10.0, 40.0, 60.0, 200.0, 500.0]


def offsets(windows: int, length: int) -> np.ndarray:
    return np.tile(np.arange(length) / RATE, (windows, 1))


def features(samples: np.ndarray, edges: list[float] | None = EDGES) -> dict[str, np.ndarray]:
    result = window_features(
        xp, xp.asarray(samples), xp.asarray(offsets(*samples.shape)), RATE, edges
    )
    return {k: to_host(v) for k, v in vars(result).items() if v is not None}


def scipy_band_energy(window: np.ndarray, edges: list[float]) -> np.ndarray:
    """Band energies from SciPy's periodogram (a PSD): integrate it over each band."""
    freqs, density = signal.periodogram(
        window, fs=RATE, window="boxcar", detrend="constant", scaling="density"
    )
    step = RATE / window.size
    return np.array(
        [density[(freqs >= lo) & (freqs < hi)].sum() * step for lo, hi in pairwise(edges)]
    )


@pytest.mark.parametrize("length", [1000, 1001, 4096])
def test_band_energies_agree_with_scipy_periodogram(length: int) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(length) / RATE
    windows = np.stack(
        [
            3.0 * np.sin(2 * np.pi * 50 * t) + rng.normal(0, 0.5, length) + 2.0,
            np.sin(2 * np.pi * 120 * t) + 0.3 * np.sin(2 * np.pi * 7 * t),
            rng.normal(0, 1, length),
        ]
    )
    got = features(windows)["band_energy"]
    want = np.stack([scipy_band_energy(w, EDGES) for w in windows])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_a_50_hz_sine_puts_its_energy_in_the_50_hz_band() -> None:
    t = np.arange(10_000) / RATE
    amplitude = 2.0
    got = features(amplitude * np.sin(2 * np.pi * 50 * t)[None, :])
    bands = got["band_energy"][0]
    # Parseval scaling: a sine of amplitude A has mean square A**2 / 2, all of it at 50 Hz.
    assert bands[2] == pytest.approx(amplitude**2 / 2, rel=1e-9)
    assert bands[2] / bands.sum() > 0.999999
    assert got["rms"][0] == pytest.approx(amplitude / np.sqrt(2), rel=1e-9)
    assert got["crest_factor"][0] == pytest.approx(np.sqrt(2), rel=1e-6)
    assert got["kurtosis"][0] == pytest.approx(1.5, rel=1e-6)  # a sine's kurtosis is 3/2


@pytest.mark.parametrize(
    ("name", "draw", "expected"),
    [
        ("normal", lambda rng, n: rng.normal(0, 1, n), 3.0),
        ("uniform", lambda rng, n: rng.uniform(-1, 1, n), 1.8),
        ("laplace", lambda rng, n: rng.laplace(0, 1, n), 6.0),
        ("exponential", lambda rng, n: rng.exponential(1, n), 9.0),
    ],
)
def test_kurtosis_of_known_distributions(name: str, draw: object, expected: float) -> None:
    rng = np.random.default_rng(11)
    samples = np.stack([draw(rng, 400_000) for _ in range(2)])  # type: ignore[operator]
    got = features(samples, edges=None)["kurtosis"]
    # Pearson's (non-excess) kurtosis, as SciPy computes it with fisher=False.
    np.testing.assert_allclose(got, stats.kurtosis(samples, axis=1, fisher=False), rtol=1e-10)
    np.testing.assert_allclose(got, expected, rtol=0.05)


def test_time_domain_features_and_trend_agree_with_numpy_and_scipy() -> None:
    rng = np.random.default_rng(3)
    samples = rng.normal(5, 2, (4, 777)) + np.linspace(0, 3, 777)[None, :] * np.arange(4)[:, None]
    got = features(samples, edges=None)
    np.testing.assert_allclose(got["mean"], samples.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(got["rms"], np.sqrt((samples**2).mean(axis=1)), rtol=1e-12)
    np.testing.assert_allclose(got["peak"], np.abs(samples).max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(got["crest_factor"], got["peak"] / got["rms"], rtol=1e-12)
    time = np.arange(777) / RATE
    slopes = [stats.linregress(time, row).slope for row in samples]
    np.testing.assert_allclose(got["trend_per_s"], slopes, rtol=1e-9)


def test_float32_windows_give_the_float64_features_closely() -> None:
    rng = np.random.default_rng(5)
    samples = rng.normal(0, 1, (8, 2048)) + np.sin(2 * np.pi * 50 * np.arange(2048) / RATE)
    wide = features(samples)
    narrow = features(samples.astype(np.float32))
    assert narrow["rms"].dtype == np.float32
    for name, values in wide.items():
        np.testing.assert_allclose(narrow[name], values, rtol=2e-3, atol=1e-4, err_msg=name)


def test_a_constant_window_has_undefined_kurtosis_not_a_crash() -> None:
    got = features(np.zeros((1, 100)), edges=None)
    assert np.isnan(got["kurtosis"][0])
    assert np.isnan(got["crest_factor"][0])
    assert got["trend_per_s"][0] == 0.0


def test_robust_scores_single_out_the_anomalous_window_like_scipy_mad() -> None:
    rng = np.random.default_rng(9)
    table = rng.normal(10, 1, (50, 3))
    table[17, 1] = 40.0
    got = to_host(robust_scores(xp, xp.asarray(table)))
    centre = np.median(table, axis=0)
    spread = stats.median_abs_deviation(table, axis=0, scale="normal")
    want = (np.abs(table - centre) / spread).max(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-3)  # scipy's normal scale is 1.482602...
    assert int(np.argmax(got)) == 17
    assert got[17] > 20
    assert np.delete(got, 17).max() < 5


def test_without_an_assigned_gpu_the_cpu_path_runs_and_says_why() -> None:
    device = executor_device([])
    assert device.name == "cpu"
    assert "no GPU assigned" in device.reason
