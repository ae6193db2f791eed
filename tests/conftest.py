import pytest
import torch

from dac_minimal import DAC


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny() -> DAC:
    """One tiny codec shared by the suite (tests that change its mode restore eval)."""
    torch.manual_seed(0)
    return DAC.from_preset("tiny").eval()
