"""dac-minimal: the Descript Audio Codec (improved RVQGAN), rebuilt to be read.

Modules, one idea each:

- ``layers``: Snake, weight-normalised convolutions, the residual unit
- ``quantize``: factorized, L2-normalised VQ and residual VQ with quantizer dropout
- ``model``: encoder, decoder and the ``DAC`` codec with its presets
- ``discriminator``: multi-period and multi-band complex-STFT discriminators
- ``loss``: multi-scale mel loss, GAN losses, feature matching, the loss weights
- ``balancer``: EnCodec's gradient balancer, the alternative to fixed loss weights
- ``audio``: reading, writing, resampling and checking audio
- ``codec``: compressed ``.dacm`` files (bit-packed codes) and chunked encoding of long audio
- ``official``: loading and downloading the official ``descript-audio-codec`` weights
- ``inference``: folding weight norm and fusing Snake for faster inference
- ``metrics``, ``evaluate``, ``baselines``: codec metrics, the evaluation command, Opus/MP3 via ffmpeg
- ``train``: the GAN training loop (``python -m dac_minimal.train``)
- ``data``: the project's own toy corpus and a loader for any folder of audio
- ``lm``: a tiny transformer language model over codec tokens

Quick start::

    import torch
    from dac_minimal import DAC
    model = DAC.from_preset("tiny").eval()          # or DAC() for the 76.65M-parameter 44.1 kHz model
    x = torch.randn(1, 1, model.sample_rate) * 0.1  # (B, 1, T): one second of audio
    codes = model.encode(x).codes                   # (1, 9, 87) int64, 10 bits each
    y = model.decode_codes(codes, length=x.shape[-1])  # (1, 1, 44100)
"""

from .audio import load_audio, resample, save_audio
from .balancer import Balancer
from .codec import CompressedAudio
from .discriminator import BANDS, DISCRIMINATOR_PRESETS, Discriminator, DiscriminatorConfig
from .inference import prepare_for_inference
from .layers import ResidualUnit, Snake, WNConv1d, WNConvTranspose1d, snake
from .lm import CodecLM, LMConfig, evaluate_lm, generate, tokens_per_second, train_lm, unigram_cross_entropy
from .loss import (
    LOSS_WEIGHTS,
    LossWeights,
    MultiScaleMelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from .model import DAC, PRESETS, DACConfig, EncodeOutput, ForwardOutput, count_parameters
from .official import download_official
from .quantize import ResidualVectorQuantize, VectorQuantize

__version__ = "0.1.0"

__all__ = [
    "BANDS", "Balancer", "CompressedAudio", "download_official", "prepare_for_inference", "CodecLM", "LMConfig", "evaluate_lm", "generate", "tokens_per_second", "train_lm",
    "unigram_cross_entropy", "DAC", "DACConfig", "DISCRIMINATOR_PRESETS", "Discriminator", "DiscriminatorConfig",
    "EncodeOutput", "ForwardOutput", "LOSS_WEIGHTS", "LossWeights", "MultiScaleMelLoss", "PRESETS",
    "ResidualUnit", "ResidualVectorQuantize", "Snake", "VectorQuantize", "WNConv1d", "WNConvTranspose1d",
    "count_parameters", "discriminator_loss", "feature_matching_loss", "generator_adversarial_loss",
    "load_audio", "resample", "save_audio", "snake",
]
