import pickle

import pytest
import torch

from dac_minimal import DAC


def test_save_load_round_trip_is_exact(tmp_path):
    model = DAC.from_preset("tiny", quantizer_dropout=0.25).eval()
    with torch.no_grad():  # make the weights differ from a fresh init
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    path = tmp_path / "sub" / "model.pt"
    model.save(path)
    loaded = DAC.load(path).eval()
    assert loaded.config == model.config
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    x = torch.randn(1, 1, 2000) * 0.1
    with torch.no_grad():
        assert torch.equal(model(x).audio, loaded(x).audio)
    assert not list(path.parent.glob(".*tmp"))  # no temporary left behind


def test_load_refuses_files_that_are_not_our_checkpoints(tmp_path):
    missing = tmp_path / "missing.pt"
    with pytest.raises(ValueError, match="not found"):
        DAC.load(missing)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint at all" * 10)
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        DAC.load(garbage)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}, "metadata": {"kwargs": {}}}, other)
    with pytest.raises(ValueError, match="not a dac-minimal checkpoint"):
        DAC.load(other)


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pickled code ran')",))


def test_load_never_executes_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "dac-minimal/1", "payload": Boom()}, f)
    with pytest.raises(ValueError, match="weights_only"):
        DAC.load(path)


def test_load_names_missing_extra_and_mismatched_keys(tmp_path):
    model = DAC.from_preset("tiny")
    path = tmp_path / "m.pt"
    model.save(path)
    ckpt = torch.load(path, weights_only=True)
    state = ckpt["state_dict"]
    first = next(iter(state))
    del state[first]
    state["decoder.extra.weight"] = torch.zeros(1)
    torch.save(ckpt, path)
    with pytest.raises(
        ValueError, match=f"missing keys: {first}.*unexpected keys: decoder.extra.weight"
    ):
        DAC.load(path)
    ckpt["config"]["latent_dim"] = 32  # an architecture the weights do not fit
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="shape mismatch"):
        DAC.load(path)
    ckpt["config"]["flux_capacitor"] = 1
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="unknown config keys"):
        DAC.load(path)


def test_saving_a_model_prepared_for_inference_is_refused(tmp_path):
    model = DAC.from_preset("tiny").prepare_for_inference()
    with pytest.raises(ValueError, match="prepared for inference"):
        model.save(tmp_path / "prepared.pt")
    assert not (tmp_path / "prepared.pt").exists()
