"""The star model's drivers text read back as parts (what the Review tab translates)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rasv.scores import Driver, parse_drivers
from rasv.scores.predict import fit_stars


def _label(d: Driver) -> str:
    if d.kind == "clip":
        return f"clip {d.name}"
    return f"{d.name}={d.value}" if d.kind == "identity" else d.name


def test_parts_of_the_models_own_drivers_rebuild_them_exactly():
    rng = np.random.default_rng(0)
    n = 40
    takes = pd.DataFrame({
        "id": [f"t{i}" for i in range(n)], "clip_id": np.arange(n) % 4,
        "clip_name": [f"zh_f_station, long {i % 4}.wav" for i in range(n)],
        "speed_factor": np.where(np.arange(n) % 2, 1.1, 1.0),
        "dur_z": rng.normal(size=n), "dnsmos_ovrl": np.where(np.arange(n) % 5, 3.0, np.nan)
        + rng.normal(size=n) * 0.3,
        "stars": [float(5 - (i % 4)) if i < 20 else None for i in range(n)],  # clips differ
    })
    takes.attrs["varied"] = ["speed_factor"]
    drivers = fit_stars(takes).predict()["drivers"]
    kinds = set()
    for text in drivers:
        parts = parse_drivers(text)
        kinds |= {d.kind for d in parts}
        assert ", ".join(f"{_label(d)} {d.stars:+.1f}" for d in parts) == text
    assert {"clip", "identity"} <= kinds and kinds & {"metric", "clip_metrics"}
