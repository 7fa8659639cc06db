"""Shared test configuration: hypothesis profiles and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Keras 3 is the truth for the Keras dialect; it runs on torch here (no TensorFlow is installed).
os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"

# "ci": deterministic and sized so the whole suite stays well under 10 minutes on 2 cores.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Hostile inputs (alias bombs, huge repeats, deep nesting) must fail at once rather than hang or
# blow up: tests bound them by this generous limit. A guard against hangs, not a speed target
# (speed is measured in bench/); normal runs take milliseconds, a blow-up takes minutes.
HANG_LIMIT_S = 20.0


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    cuda_items = [item for item in items if "cuda" in item.keywords]
    # torch is imported only when a CUDA test was collected (importing it costs seconds)
    if cuda_items and not cuda_available():
        skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in cuda_items:
            item.add_marker(skip_cuda)


@pytest.fixture
def example():
    """Path of an example file by stem: example('resnet50')."""
    def get(stem: str) -> Path:
        return EXAMPLES / f"{stem}.yaml"
    return get
