"""What every benchmark records beside its figures, and how it writes them."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any


def conditions(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """Date, machine and load average before/after: other work on a shared machine skews every figure."""
    return {"date": time.strftime("%Y-%m-%d"),
            "load_average_1_5_15_before": [round(x, 2) for x in load_before],
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}


def write_json(path: Path, result: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
