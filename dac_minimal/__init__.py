"""dac-minimal: the Descript Audio Codec (improved RVQGAN), rebuilt to be read.

The codec, one idea a file, in the order the book builds it:

- ``layers``: Snake, weight-normalised convolutions, the residual unit (chapters 2, 5)
- ``quantize``: factorized, L2-normalised VQ, residual VQ with quantizer dropout (chapters 3, 4)
- ``model``: encoder, decoder and the ``DAC`` codec with its presets (chapter 5)
- ``discriminator``: multi-period and multi-band complex-STFT discriminators (chapter 6)
- ``loss``: multi-scale mel loss, GAN losses, feature matching, the loss weights (chapter 7)
- ``checkpoint``: saving and loading codecs, ours and the official package's
- ``data``, ``train``: the training data and the GAN training loop (chapter 8)

Around it, each in its own sub-package: ``codec`` (files, long audio, official weights, faster
inference and the command line; chapter 10), ``evaluate`` (metrics, baselines, ablations;
chapters 9, 11), ``lm`` (a transformer over codec tokens; chapter 12), ``tools`` and ``utils``.

Quick start::

    import torch
    from dac_minimal import DAC
    model = DAC.from_preset("tiny").eval()          # or DAC() for the 76.65M-parameter model
    x = torch.randn(1, 1, model.sample_rate) * 0.1  # (B, 1, T): one second of audio
    codes = model.encode(x).codes                   # (1, 9, 87) int64, 10 bits each
    y = model.decode_codes(codes, length=x.shape[-1])  # (1, 1, 44100)
"""

from dac_minimal.codec import (
    CompressedAudio,
    compress,
    decompress,
    download_official,
    prepare_for_inference,
)
from dac_minimal.discriminator import (
    BANDS,
    DISCRIMINATOR_PRESETS,
    Discriminator,
    DiscriminatorConfig,
)
from dac_minimal.layers import ResidualUnit, Snake, WNConv1d, WNConvTranspose1d, snake
from dac_minimal.loss import (
    LOSS_WEIGHTS,
    LossWeights,
    MultiScaleMelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from dac_minimal.model import DAC, PRESETS, DACConfig, EncodeOutput, ForwardOutput, count_parameters
from dac_minimal.quantize import ResidualVectorQuantize, VectorQuantize
from dac_minimal.utils.audio import load_audio, resample, save_audio

__version__ = "0.1.0"

__all__ = [
    "BANDS",
    "DAC",
    "DISCRIMINATOR_PRESETS",
    "LOSS_WEIGHTS",
    "PRESETS",
    "CompressedAudio",
    "DACConfig",
    "Discriminator",
    "DiscriminatorConfig",
    "EncodeOutput",
    "ForwardOutput",
    "LossWeights",
    "MultiScaleMelLoss",
    "ResidualUnit",
    "ResidualVectorQuantize",
    "Snake",
    "VectorQuantize",
    "WNConv1d",
    "WNConvTranspose1d",
    "compress",
    "count_parameters",
    "decompress",
    "discriminator_loss",
    "download_official",
    "feature_matching_loss",
    "generator_adversarial_loss",
    "load_audio",
    "prepare_for_inference",
    "resample",
    "save_audio",
    "snake",
]
