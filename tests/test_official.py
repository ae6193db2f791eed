import urllib.error
import urllib.request

import pytest
import torch

from dac_minimal import DAC
from dac_minimal.checkpoint import convert_official_state_dict, is_official_checkpoint
from dac_minimal.codec.official import OFFICIAL_WEIGHTS, RELEASE_URL, download_official


def official_kwargs(model: DAC) -> dict:
    """The official ``metadata.kwargs`` for our model's config, written apart from the converter."""
    c = model.config
    return {
        "encoder_dim": c.encoder_dim,
        "encoder_rates": list(c.encoder_rates),
        "latent_dim": c.latent_dim,
        "decoder_dim": c.decoder_dim,
        "decoder_rates": list(c.decoder_rates),
        "n_codebooks": c.n_codebooks,
        "codebook_size": c.codebook_size,
        "codebook_dim": [c.codebook_dim] * c.n_codebooks,
        "quantizer_dropout": False,
        "sample_rate": c.sample_rate,
    }


def legacy_state(model: DAC) -> dict:
    """The state dict as the legacy ``torch.nn.utils.weight_norm`` names it (``weight_g``,
    ``weight_v``)."""
    state = {}
    for key, value in model.state_dict().items():
        key = key.replace(".parametrizations.weight.original0", ".weight_g")
        key = key.replace(".parametrizations.weight.original1", ".weight_v")
        state[key] = value.clone()
    return state


@pytest.fixture(scope="module")
def trained_like() -> DAC:
    torch.manual_seed(1)
    model = DAC.from_preset("tiny").eval()
    with (
        torch.no_grad()
    ):  # move away from the initialisation so a wrong mapping cannot go unnoticed
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def save_official(path, state, kwargs):
    torch.save(
        {"state_dict": state, "metadata": {"kwargs": kwargs, "package_version": "1.0.0"}}, path
    )


def assert_same_model(a: DAC, b: DAC):
    x = torch.randn(2, 1, 3000) * 0.2
    with torch.no_grad():
        ea, eb = a.encode(x), b.encode(x)
        assert torch.equal(ea.codes, eb.codes)
        assert torch.equal(a.decode_codes(ea.codes), b.decode_codes(eb.codes))
        assert torch.equal(a.decode_codes(ea.codes[:, :3]), b.decode_codes(eb.codes[:, :3]))


def test_legacy_weight_norm_checkpoint_loads_as_the_same_model(tmp_path, trained_like):
    state = legacy_state(trained_like)
    assert any(k.endswith(".weight_g") for k in state)  # the fixture really is in the legacy layout
    path = tmp_path / "weights.pth"
    save_official(path, state, official_kwargs(trained_like))
    loaded = DAC.load(path).eval()
    assert loaded.config == DAC.from_preset("tiny", quantizer_dropout=0.0).config
    assert_same_model(trained_like, loaded)


def test_parametrization_named_checkpoint_loads_as_the_same_model(tmp_path, trained_like):
    path = tmp_path / "weights.pth"
    save_official(path, dict(trained_like.state_dict()), official_kwargs(trained_like))
    assert_same_model(trained_like, DAC.load(path).eval())


def test_convert_maps_only_weight_norm_names(trained_like):
    state = legacy_state(trained_like)
    config, ours = convert_official_state_dict(state, official_kwargs(trained_like))
    assert set(ours) == set(trained_like.state_dict())
    assert config.codebook_dim == 8 and config.quantizer_dropout == 0.0
    key = "encoder.block.0.weight_g"
    assert ours["encoder.block.0.parametrizations.weight.original0"] is state[key]
    assert "decoder.model.1.block.0.alpha" in ours  # Snake's alpha keeps its name


def test_is_official_checkpoint():
    assert is_official_checkpoint({"state_dict": {}, "metadata": {"kwargs": {}}})
    assert not is_official_checkpoint({"format": "dac-minimal/1", "state_dict": {}, "config": {}})
    assert not is_official_checkpoint({"state_dict": {}, "metadata": {}})
    assert not is_official_checkpoint([1, 2])


def test_wrong_architecture_missing_and_extra_keys_are_named(tmp_path, trained_like):
    kwargs = official_kwargs(trained_like)
    path = tmp_path / "w.pth"

    state = legacy_state(trained_like)
    del state["encoder.block.0.weight_v"]
    state["decoder.model.99.weight"] = torch.zeros(1)
    save_official(path, state, kwargs)
    with pytest.raises(
        ValueError,
        match=r"missing keys: encoder\.block\.0\.parametrizations\.weight\.original1"
        r".*unexpected keys: decoder\.model\.99\.weight",
    ):
        DAC.load(path)

    save_official(
        path, legacy_state(trained_like), {**kwargs, "latent_dim": 32}
    )  # weights of another size
    with pytest.raises(ValueError, match="shape mismatch"):
        DAC.load(path)

    save_official(
        path, legacy_state(trained_like), {**kwargs, "encoder_rates": [2, 4, 8]}
    )  # hop 64 ≠ 512
    with pytest.raises(ValueError, match="same product"):
        DAC.load(path)

    save_official(path, legacy_state(trained_like), {**kwargs, "causal": True})
    with pytest.raises(ValueError, match=r"does not have: \['causal'\]"):
        DAC.load(path)

    save_official(path, legacy_state(trained_like), {**kwargs, "codebook_dim": [8, 4] + [8] * 7})
    with pytest.raises(ValueError, match="different dimensions per codebook"):
        DAC.load(path)

    bad = legacy_state(trained_like)
    bad["encoder.block.0.weight_g"] = "not a tensor"
    save_official(path, bad, kwargs)
    with pytest.raises(ValueError, match="not a named tensor"):
        DAC.load(path)

    torch.save({"state_dict": legacy_state(trained_like), "metadata": {"version": 1}}, path)
    with pytest.raises(ValueError, match="metadata"):
        DAC.load(path)


def test_download_urls_follow_the_release_pattern(tmp_path):
    assert RELEASE_URL.format(
        tag=OFFICIAL_WEIGHTS["44khz"][0], file=OFFICIAL_WEIGHTS["44khz"][1]
    ) == ("https://github.com/descriptinc/descript-audio-codec/releases/download/0.0.1/weights.pth")
    assert OFFICIAL_WEIGHTS["44khz_16kbps"] == ("1.0.0", "weights_44khz_16kbps.pth")
    with pytest.raises(ValueError, match="unknown official weights"):
        download_official("48khz", cache_dir=tmp_path)


def test_download_offline_says_what_to_fetch_and_where(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError) as err:
        download_official("24khz", cache_dir=tmp_path)
    message = str(err.value)
    assert "releases/download/0.0.4/weights_24khz.pth" in message
    assert str(tmp_path / "0.0.4_weights_24khz.pth") in message
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_download_uses_the_cache_and_writes_atomically(tmp_path, monkeypatch):
    payload = b"x" * 3000
    calls = []

    class Response:
        headers = {"Content-Length": str(len(payload))}

        def __init__(self):
            self.data = payload

        def read(self, n):
            block, self.data = self.data[:n], self.data[n:]
            return block

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(url, timeout):
        calls.append(url)
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    path = download_official("16khz", cache_dir=tmp_path)
    assert path.read_bytes() == payload and calls == [
        RELEASE_URL.format(tag="0.0.5", file="weights_16khz.pth")
    ]
    assert download_official("16khz", cache_dir=tmp_path) == path and len(calls) == 1  # cached
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

    Response.headers = {"Content-Length": str(len(payload) + 10)}  # the connection drops early
    with pytest.raises(RuntimeError, match="incomplete"):
        download_official("44khz", cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
