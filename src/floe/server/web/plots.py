"""Array previews drawn on the server with matplotlib: a line for one dimension, an image with a
colour bar for two. Uses the object-oriented API (no pyplot state), so requests can draw at once."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from floe.inspection import Preview

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.8, 100


def _axis_label(label: str, units: str | None) -> str:
    return f"{label} [{units}]" if units else label


def _extent(values: Any, length: int) -> tuple[float, float] | None:
    if values is None or len(values) != length or values.dtype.kind not in "iuf":
        return None
    first, last = float(values[0]), float(values[-1])
    if not np.isfinite([first, last]).all() or first == last:
        return None
    step = (last - first) / max(length - 1, 1)
    return first - step / 2, last + step / 2


def render_png(preview: Preview) -> bytes:
    """The preview as a PNG (800 x 480 pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    value_label = _axis_label(preview.title, preview.units)
    title = preview.path + (f" ({', '.join(preview.fixed)})" if preview.fixed else "")
    axes.set_title(title, fontsize=10)
    data = np.asarray(preview.data)
    if data.ndim == 1:
        label, values, units = preview.axes[0]
        x = values if values is not None and len(values) == len(data) else np.arange(len(data))
        axes.plot(x, data, linewidth=1.2)
        axes.set_xlabel(_axis_label(label, units))
        axes.set_ylabel(value_label)
        axes.grid(True, alpha=0.3)
    else:
        (y_label, y_values, y_units), (x_label, x_values, x_units) = preview.axes
        height, width = data.shape
        x_extent = _extent(x_values, width) or (-0.5, width - 0.5)
        y_extent = _extent(y_values, height)
        # With a y coordinate, row 0 sits at its first value and values increase upwards; without,
        # row 0 is on top, as in any picture of an array.
        extent = (*x_extent, *(y_extent or (height - 0.5, -0.5)))
        finite = data[np.isfinite(data)] if data.dtype.kind == "f" else data
        low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        image = axes.imshow(
            data,
            origin="lower" if y_extent else "upper",
            aspect="auto",
            interpolation="nearest",
            extent=extent,
            vmin=float(low),
            vmax=float(high) if high > low else None,
            cmap="viridis",
        )
        if y_extent:
            axes.set_ylim(min(y_extent), max(y_extent))
        figure.colorbar(image, ax=axes, label=value_label)
        axes.set_xlabel(_axis_label(x_label, x_units))
        axes.set_ylabel(_axis_label(y_label, y_units))
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
