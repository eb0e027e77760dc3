"""The equipment-health kernel, written once against the Python array API.

Every function takes the array namespace `xp` (array_api_compat.numpy on the CPU,
array_api_compat.cupy on a GPU) and uses only what the standard defines, so the code CI runs on
the CPU is the code a GPU executor runs. Windows arrive as a 2-D array (windows x samples) of equal
length; the caller groups ragged windows by length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Array = Any  # an array of whichever namespace xp is (the standard has no common base type)

# The median absolute deviation times this estimates a normal distribution's standard deviation.
MAD_TO_SIGMA = 1.4826
RELATIVE_FLOOR = 0.01
ABSOLUTE_FLOOR = 1e-6


@dataclass(frozen=True)
class WindowFeatures:
    """Per-window features, one value per window (band_energy: windows x bands)."""

    mean: Array
    rms: Array
    peak: Array
    kurtosis: Array
    crest_factor: Array
    trend_per_s: Array
    band_energy: Array | None


def _safe_divide(xp: Any, numerator: Array, denominator: Array) -> Array:
    """numerator / denominator, NaN where the denominator is zero (an undefined feature)."""
    defined = denominator != 0
    ones = xp.ones_like(denominator)
    return xp.where(defined, numerator / xp.where(defined, denominator, ones), xp.nan)


def band_energies(
    xp: Any, centred: Array, sample_rate_hz: float, band_edges_hz: list[float]
) -> Array:
    """Energy (mean square) per frequency band from a one-sided FFT power spectrum.

    Scaled so the bands over the whole spectrum add up to the window's variance (Parseval):
    a sine of amplitude A puts A**2 / 2 into the band holding its frequency.
    """
    n = centred.shape[-1]
    spectrum = xp.fft.rfft(centred, axis=-1)
    power = (xp.real(spectrum) ** 2 + xp.imag(spectrum) ** 2) / float(n * n)
    bins = power.shape[-1]
    index = xp.arange(bins, device=_device(centred))
    # One-sided: every bin but DC (and Nyquist, for even n) stands for its negative twin too.
    doubled = (index > 0) & (index < (n / 2 if n % 2 == 0 else n))
    power = power * xp.where(doubled, 2.0, 1.0)
    freqs = xp.fft.rfftfreq(n, d=1.0 / sample_rate_hz, device=_device(centred))
    lows = xp.asarray(band_edges_hz[:-1], dtype=freqs.dtype, device=_device(centred))
    highs = xp.asarray(band_edges_hz[1:], dtype=freqs.dtype, device=_device(centred))
    member = (freqs[:, None] >= lows[None, :]) & (freqs[:, None] < highs[None, :])
    return xp.matmul(power, xp.astype(member, power.dtype))


def window_features(
    xp: Any,
    samples: Array,
    offsets_s: Array,
    sample_rate_hz: float | None,
    band_edges_hz: list[float] | None,
) -> WindowFeatures:
    """Time-domain features, trend and (with band edges and a rate) band energies per window.

    offsets_s: each sample's time in seconds from its window's start (same shape as samples),
    for the trend (least-squares slope, units per second).
    """
    mean = xp.mean(samples, axis=-1)
    centred = samples - mean[:, None]
    squared = centred * centred
    m2 = xp.mean(squared, axis=-1)
    m4 = xp.mean(squared * squared, axis=-1)
    rms = xp.sqrt(xp.mean(samples * samples, axis=-1))
    peak = xp.max(xp.abs(samples), axis=-1)
    time_centred = offsets_s - xp.mean(offsets_s, axis=-1)[:, None]
    slope = _safe_divide(
        xp,
        xp.sum(time_centred * centred, axis=-1),
        xp.sum(time_centred * time_centred, axis=-1),
    )
    bands = None
    if band_edges_hz and sample_rate_hz:
        bands = band_energies(xp, centred, sample_rate_hz, band_edges_hz)
    return WindowFeatures(
        mean=mean,
        rms=rms,
        peak=peak,
        kurtosis=_safe_divide(xp, m4, m2 * m2),
        crest_factor=_safe_divide(xp, peak, rms),
        # A window of one sample has no slope; say 0 rather than undefined.
        trend_per_s=xp.where(xp.isnan(slope), 0.0, slope),
        band_energy=bands,
    )


def _median(xp: Any, values: Array) -> Array:
    """Median along axis 0 (the standard has sort but no median)."""
    ordered = xp.sort(values, axis=0)
    count = ordered.shape[0]
    return (ordered[(count - 1) // 2, ...] + ordered[count // 2, ...]) / 2.0


def robust_scores(xp: Any, features: Array) -> Array:
    """Anomaly score per window: the largest robust z-score over its features.

    features: windows x features, in time order, of one asset. Each feature is compared with
    the asset's median over its windows, in units of the scaled median absolute deviation, so a
    few anomalous windows do not hide themselves by inflating the spread. Undefined features
    (NaN) do not count.
    """
    defined = ~xp.isnan(features)
    filled = xp.where(defined, features, 0.0)
    centre = _median(xp, filled)
    spread = MAD_TO_SIGMA * _median(xp, xp.abs(filled - centre[None, :]))
    # A feature (nearly) constant over the windows has no spread, and rounding alone would then
    # look infinitely unusual: measure its departures against 1% of its size at the least.
    floor = RELATIVE_FLOOR * xp.abs(centre) + ABSOLUTE_FLOOR
    scale = xp.maximum(spread, floor)
    z = xp.where(defined, xp.abs(filled - centre[None, :]) / scale[None, :], 0.0)
    return xp.max(z, axis=-1)


def _device(x: Array) -> Any:
    from array_api_compat import device

    return device(x)
