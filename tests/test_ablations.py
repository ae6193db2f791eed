"""Chapter 11's ablations: the trainer hook they need, the quantizer variants, and the experiment machinery."""

from __future__ import annotations

import pytest
import torch

import dac_minimal.train as T
from dac_minimal import DAC, Discriminator
from dac_minimal.data import ensure_toy_corpus
from dac_minimal.loss import MultiScaleMelLoss


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return ensure_toy_corpus(tmp_path_factory.mktemp("toy"), n_per_domain=1, n_valid_per_domain=1, seconds=0.5)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_trainer_trains_the_model_discriminator_and_mel_loss_it_is_given(corpus, tmp_path):
    cfg = T.TrainConfig(preset="tiny", data=str(corpus.train), out=str(tmp_path), steps=1, batch_size=3,
                        duration=0.05, val_duration=0.05, val_clips_per_domain=1, progress=False,
                        tensorboard=False, device="cpu")
    model = DAC.from_preset("tiny", activation="leaky_relu")
    disc = Discriminator.from_preset("tiny", bands=((0.0, 1.0),))
    mel = MultiScaleMelLoss(n_mels=(64,) * 7)
    trainer = T.Trainer(cfg, model=model, discriminator=disc, mel_loss=mel)
    assert trainer.model is model and trainer.disc is disc and trainer.mel is mel
    before_g = [p.detach().clone() for p in model.parameters()]
    before_d = [p.detach().clone() for p in disc.parameters()]
    step, batch = next(trainer.batches())
    trainer.train_step(step, batch)
    assert any(not torch.equal(a, b) for a, b in zip(before_g, model.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, disc.parameters()))
    # Without replacements the trainer still builds what the config describes.
    default = T.Trainer(T.TrainConfig(**{**cfg.__dict__, "out": str(tmp_path / "b")}))
    assert default.model.config.activation == "snake" and default.disc.config.bands != ((0.0, 1.0),)
    assert default.mel.n_mels == (5, 10, 20, 40, 80, 160, 320)
