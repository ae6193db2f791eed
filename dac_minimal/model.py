"""The codec: encoder, residual vector quantizer and decoder, assembled into ``DAC``.

Shapes: audio ``(B, 1, T)`` at ``sample_rate`` Hz → latent ``z`` ``(B, D, S)`` with
``S = ceil(T / hop_length)`` frames → codes ``(B, n_q, S)`` → audio ``(B, 1, T)``.
For the 44.1 kHz model D = 1024, hop = 2·4·8·8 = 512, S ≈ 86.13 frames per second.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dac_minimal.layers import (
    ACTIVATIONS,
    ResidualUnit,
    WNConv1d,
    WNConvTranspose1d,
    activation,
    init_weights,
)
from dac_minimal.quantize import ResidualVectorQuantize
from dac_minimal.utils.checks import (
    check_choice,
    check_codes,
    check_n_quantizers,
    check_positive,
    check_waveform,
)


@dataclass
class DACConfig:
    """Every hyper-parameter of the generator; the defaults are the official 44.1 kHz, 8 kbps model.

    The constructor is where a bad setting is caught (``ValueError`` naming it), so that the
    modules built from a config can trust it.
    """

    sample_rate: int = 44100
    encoder_dim: int = 64  #: channels after the first conv; doubled by each encoder block
    encoder_rates: tuple[int, ...] = (2, 4, 8, 8)  #: strides; their product is the hop length
    latent_dim: int | None = None  #: D; None means encoder_dim · 2^len(encoder_rates)
    decoder_dim: int = 1536  #: channels after the first decoder conv; halved by each block
    decoder_rates: tuple[int, ...] = (8, 8, 4, 2)
    n_codebooks: int = 9  #: N_q
    codebook_size: int = 1024  #: K entries, log2(K) = 10 bits per code
    codebook_dim: int = 8  #: d, the factorized lookup dimension
    quantizer_dropout: float = 0.5  #: p, the share of a training batch that uses fewer codebooks
    activation: str = "snake"  #: "snake" or "leaky_relu" (for the ablation)

    def __post_init__(self) -> None:
        self.encoder_rates = tuple(int(r) for r in self.encoder_rates)
        self.decoder_rates = tuple(int(r) for r in self.decoder_rates)
        if self.latent_dim is None:
            self.latent_dim = self.encoder_dim * 2 ** len(self.encoder_rates)
        check_positive(self.sample_rate, "sample_rate")
        for rate in self.encoder_rates + self.decoder_rates:
            check_positive(rate, "every encoder and decoder rate")
        if math.prod(self.encoder_rates) != math.prod(self.decoder_rates):
            raise ValueError(
                f"encoder rates {self.encoder_rates} and decoder rates {self.decoder_rates} must "
                "have the same product (the hop length), or the output length would not match"
            )
        if self.decoder_dim % 2 ** len(self.decoder_rates):
            raise ValueError(
                f"decoder_dim {self.decoder_dim} must be divisible by 2^{len(self.decoder_rates)}"
            )
        if not 0.0 <= self.quantizer_dropout <= 1.0:
            raise ValueError(f"quantizer_dropout must be in [0, 1], got {self.quantizer_dropout}")
        check_choice(self.activation, ACTIVATIONS, "activation")

    @property
    def hop_length(self) -> int:
        return math.prod(self.encoder_rates)


#: The published family (official ``descript-audio-codec`` configs) and the CPU-sized ``tiny``
#: model.
PRESETS: dict[str, DACConfig] = {
    "44khz": DACConfig(),
    "44khz_16kbps": DACConfig(latent_dim=128, n_codebooks=18),
    "24khz": DACConfig(
        sample_rate=24000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=32
    ),
    "16khz": DACConfig(
        sample_rate=16000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=12
    ),
    # Same architecture, rate, hop, codebooks and bitrate as "44khz", with ~1/100 of the weights.
    "tiny": DACConfig(encoder_dim=8, latent_dim=64, decoder_dim=96),
}


class EncoderBlock(nn.Module):
    """Three residual units (dilations 1, 3, 9) at C/2 channels, then a strided conv C/2 → C.

    The conv has kernel 2s, stride s and padding ceil(s/2), so T samples become T/s frames.
    """

    def __init__(self, dim: int, stride: int, act: str = "snake"):
        super().__init__()
        self.block = nn.Sequential(
            ResidualUnit(dim // 2, dilation=1, act=act),
            ResidualUnit(dim // 2, dilation=3, act=act),
            ResidualUnit(dim // 2, dilation=9, act=act),
            activation(act, dim // 2),
            WNConv1d(
                dim // 2, dim, kernel_size=2 * stride, stride=stride, padding=math.ceil(stride / 2)
            ),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Encoder(nn.Module):
    """``(B, 1, T)`` → ``(B, D, T / hop)``: conv, strided blocks doubling C, conv to D."""

    def __init__(
        self,
        dim: int = 64,
        rates: tuple[int, ...] = (2, 4, 8, 8),
        latent_dim: int = 1024,
        act: str = "snake",
    ):
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(1, dim, kernel_size=7, padding=3)]
        for stride in rates:
            dim *= 2
            layers.append(EncoderBlock(dim, stride, act))
        layers += [activation(act, dim), WNConv1d(dim, latent_dim, kernel_size=3, padding=1)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class DecoderBlock(nn.Module):
    """Activation, transposed conv C → C/2 upsampling by s, then three residual units.

    Kernel 2s, stride s, padding ceil(s/2) turn S frames into exactly S·s samples for even s.
    For odd s (the 16/24 kHz models use s = 5) that arithmetic gives S·s − 1, so we add
    ``output_padding = 1``: it adds no weights (official checkpoints load unchanged) and makes
    every decode exactly ``frames · hop`` long.
    """

    def __init__(self, input_dim: int, output_dim: int, stride: int, act: str = "snake"):
        super().__init__()
        self.block = nn.Sequential(
            activation(act, input_dim),
            WNConvTranspose1d(
                input_dim,
                output_dim,
                kernel_size=2 * stride,
                stride=stride,
                padding=math.ceil(stride / 2),
                output_padding=stride % 2,
            ),
            ResidualUnit(output_dim, dilation=1, act=act),
            ResidualUnit(output_dim, dilation=3, act=act),
            ResidualUnit(output_dim, dilation=9, act=act),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Decoder(nn.Module):
    """``(B, D, S)`` → ``(B, 1, S · hop)``: conv to C, upsampling blocks halving C, conv, tanh."""

    def __init__(
        self,
        latent_dim: int = 1024,
        dim: int = 1536,
        rates: tuple[int, ...] = (8, 8, 4, 2),
        act: str = "snake",
    ):
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(latent_dim, dim, kernel_size=7, padding=3)]
        for i, stride in enumerate(rates):
            layers.append(DecoderBlock(dim // 2**i, dim // 2 ** (i + 1), stride, act))
        out_dim = dim // 2 ** len(rates)
        layers += [
            activation(act, out_dim),
            WNConv1d(out_dim, 1, kernel_size=7, padding=3),
            nn.Tanh(),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class EncodeOutput(NamedTuple):
    """``DAC.encode``'s result: ``z`` ``(B, D, S)``, ``codes`` ``(B, n_q, S)`` int64,
    ``latents`` ``(B, n_q·d, S)``, and the scalar commitment and codebook losses."""

    z: torch.Tensor
    codes: torch.Tensor
    latents: torch.Tensor
    commitment_loss: torch.Tensor
    codebook_loss: torch.Tensor


class ForwardOutput(NamedTuple):
    """``DAC.forward``'s result: the reconstruction ``audio`` ``(B, 1, T)``, ``encode``'s fields."""

    audio: torch.Tensor
    z: torch.Tensor
    codes: torch.Tensor
    latents: torch.Tensor
    commitment_loss: torch.Tensor
    codebook_loss: torch.Tensor


class DAC(nn.Module):
    """The Descript Audio Codec: ``encode`` audio to codes, ``decode`` codes to audio.

    >>> model = DAC.from_preset("tiny").eval()
    >>> x = torch.randn(1, 1, 44100) * 0.1              # one second, (B, 1, T)
    >>> out = model.encode(x)                           # out.codes: (1, 9, 87)
    >>> y = model.decode_codes(out.codes, length=x.shape[-1])   # (1, 1, 44100)
    """

    def __init__(self, config: DACConfig | None = None):
        super().__init__()
        self.config = config = config if config is not None else DACConfig()
        act = config.activation
        self.encoder = Encoder(config.encoder_dim, config.encoder_rates, config.latent_dim, act)
        self.quantizer = ResidualVectorQuantize(
            config.latent_dim,
            config.n_codebooks,
            config.codebook_size,
            config.codebook_dim,
            config.quantizer_dropout,
        )
        self.decoder = Decoder(config.latent_dim, config.decoder_dim, config.decoder_rates, act)
        self.apply(init_weights)
        # The codebook entries are N(0, 1), so z_q, and with it the untrained decoder's output,
        # would start near full scale; a 10x smaller output conv starts the decoder near the
        # audio's level.
        with torch.no_grad():
            self.decoder.model[-2].parametrizations.weight.original0.mul_(0.1)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> DAC:
        """A freshly initialised model from a named configuration (``PRESETS``), with overrides."""
        check_choice(name, PRESETS, "preset")
        return cls(replace(PRESETS[name], **overrides))

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def hop_length(self) -> int:
        """Samples per frame (the product of the encoder strides): 512 for the 44.1 kHz model."""
        return self.config.hop_length

    @property
    def n_codebooks(self) -> int:
        return self.config.n_codebooks

    @property
    def frame_rate(self) -> float:
        """Frames (code vectors) per second: 44100 / 512 ≈ 86.13."""
        return self.sample_rate / self.hop_length

    def bitrate(self, n_quantizers: int | None = None) -> float:
        """Bits per second with the first ``n_quantizers`` codebooks: frames/s · n_q · log2(K)."""
        n = check_n_quantizers(n_quantizers, self.n_codebooks)
        return self.frame_rate * n * math.log2(self.config.codebook_size)

    def n_frames(self, length: int) -> int:
        """Number of code frames for ``length`` input samples: ceil(T / hop)."""
        return math.ceil(length / self.hop_length)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Check ``x`` ``(B, 1, T)`` and right-pad it with zeros to a multiple of the hop length.

        The check (``utils.checks.check_waveform``) is the codec's one audio boundary: ``encode``,
        ``forward`` and the trainer's ``CodecForward`` all come through here.
        """
        check_waveform(x, "audio")
        return F.pad(x, (0, self.n_frames(x.shape[-1]) * self.hop_length - x.shape[-1]))

    def encode(self, x: torch.Tensor, n_quantizers: int | None = None) -> EncodeOutput:
        """Encode audio ``x`` ``(B, 1, T)`` at ``sample_rate`` to codes ``(B, n_q, ceil(T / hop))``.

        ``n_quantizers`` (1..N_q, default all) is honoured in training and evaluation mode alike.
        In training mode without it, quantizer dropout applies (see ``ResidualVectorQuantize``).
        ``ValueError`` for anything but a finite float ``(B, 1, T)`` waveform (``preprocess``)
        or an ``n_quantizers`` outside 1..N_q.
        """
        if n_quantizers is not None:  # None keeps quantizer dropout on in training
            n_quantizers = check_n_quantizers(n_quantizers, self.n_codebooks)
        z = self.encoder(self.preprocess(x))
        return EncodeOutput(*self.quantizer(z, n_quantizers))

    def _trim(self, audio: torch.Tensor, length: int | None) -> torch.Tensor:
        """``audio`` ``(B, 1, S · hop)`` cut to its first ``length`` samples (all when None)."""
        if length is None:
            return audio
        if not 0 < length <= audio.shape[-1]:
            raise ValueError(
                f"length must be in 1..{audio.shape[-1]} for this many frames, got {length}"
            )
        return audio[..., :length]

    def decode(self, z: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Decode a quantized latent ``z`` ``(B, D, S)`` into audio ``(B, 1, S · hop)``.

        ``length`` (samples) trims the result, e.g. to the encoded input's T.
        """
        d = self.config.latent_dim
        if not isinstance(z, torch.Tensor) or z.ndim != 3 or z.shape[1] != d:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must have shape (B, {d}, S), got {shape}")
        if z.shape[-1] == 0 or z.shape[0] == 0:
            raise ValueError(f"z is empty: shape {tuple(z.shape)}")
        return self._trim(self.decoder(z), length)

    def decode_codes(self, codes: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Decode codes ``(B, k, S)`` of the first k codebooks into audio ``(B, 1, S · hop)``.

        ``length`` trims as in ``decode``. ``ValueError`` unless the codes are integers in [0, K)
        for 1..N_q codebooks (see ``utils.checks.check_codes``).
        """
        codes = check_codes(codes, self.config.codebook_size, max_n_q=self.n_codebooks)
        return self.decode(self.quantizer.from_codes(codes), length)

    def forward(self, x: torch.Tensor, n_quantizers: int | None = None) -> ForwardOutput:
        """The training forward pass: encode, quantize, decode, trim the output to the input's T."""
        enc = self.encode(x, n_quantizers)
        audio = self.decoder(enc.z)[..., : x.shape[-1]]
        return ForwardOutput(audio, *enc)

    # Files and faster inference live outside the model; these thin methods import them on use.
    def save(self, path: str | os.PathLike) -> None:
        """Write this codec to ``path`` (see ``dac_minimal.checkpoint.save_model``)."""
        from dac_minimal.checkpoint import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> DAC:
        """Read a codec saved by ``save``, or an official ``descript-audio-codec`` checkpoint.

        Safe on untrusted files: ``weights_only=True``, never runs pickled code (see
        ``dac_minimal.checkpoint.load_model``).
        """
        from dac_minimal.checkpoint import load_model

        return load_model(path, map_location)

    def compress(self, audio, n_quantizers: int | None = None, **kwargs):
        """Audio (a path, or ``(T,)``/``(C, T)`` samples) → ``CompressedAudio``.

        See ``codec.compress``.
        """
        from dac_minimal.codec import compress

        return compress(self, audio, n_quantizers, **kwargs)

    def decompress(self, compressed, **kwargs) -> torch.Tensor:
        """``CompressedAudio`` or a path → audio ``(C, T)`` at the original rate.

        See ``codec.decompress``.
        """
        from dac_minimal.codec import decompress

        return decompress(self, compressed, **kwargs)

    def prepare_for_inference(self, **kwargs) -> DAC:
        """Fold weight norm and fuse Snake, in place, one-way (``codec.prepare_for_inference``)."""
        from dac_minimal.codec import prepare_for_inference

        return prepare_for_inference(self, **kwargs)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (weight-norm g and v counted, as in the official model)."""
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "DAC",
    "DACConfig",
    "PRESETS",
    "Encoder",
    "Decoder",
    "EncoderBlock",
    "DecoderBlock",
    "EncodeOutput",
    "ForwardOutput",
    "count_parameters",
]
