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


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """One torch thread per test process: the suite's models are tiny, and on a shared 2-core
    machine two threads per process made small convolutions and STFTs 10-100x slower
    (oversubscription)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
