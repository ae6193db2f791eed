"""The discriminators: multi-period (MPD), multi-band multi-scale complex STFT (MRD), and the
optional multi-scale waveform discriminator (MSD).

Every sub-discriminator returns a list of feature maps with its logits last; the feature maps
feed the feature-matching loss, the logits the adversarial loss (``loss.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from dac_minimal.loss import at_least_fp32
from dac_minimal.utils.checks import check_choice

#: Band edges as fractions of the n_fft/2 + 1 STFT bins (report §4.3).
BANDS: tuple[tuple[float, float], ...] = (
    (0.0, 0.1),
    (0.1, 0.25),
    (0.25, 0.5),
    (0.5, 0.75),
    (0.75, 1.0),
)


def _conv(conv: nn.Module, act: bool = True) -> nn.Module:
    """Weight-normalised conv, followed by LeakyReLU(0.1) unless it is an output layer."""
    conv = weight_norm(conv)
    return nn.Sequential(conv, nn.LeakyReLU(0.1)) if act else conv


def _feature_maps(
    convs: nn.ModuleList, conv_post: nn.Module, x: torch.Tensor
) -> list[torch.Tensor]:
    """Run a conv stack, keeping every layer's output, then the output conv's logits last."""
    fmap = []
    for layer in convs:
        x = layer(x)
        fmap.append(x)
    fmap.append(conv_post(x))
    return fmap


class MPD(nn.Module):
    """Multi-period discriminator branch (HiFi-GAN) for one period p.

    The waveform ``(B, 1, T)`` is reflect-padded to a multiple of p and folded into a 2-D image
    ``(B, 1, T/p, p)``: column j holds samples j, j+p, j+2p, ... so kernels of width 1 along the
    period axis compare samples exactly one period apart, where periodic structure lives.
    """

    def __init__(self, period: int, channels: tuple[int, ...] = (32, 128, 512, 1024)):
        super().__init__()
        self.period = period
        chans = [1, *channels]
        last = chans[-1]
        self.convs = nn.ModuleList(
            [
                _conv(nn.Conv2d(i, o, (5, 1), (3, 1), padding=(2, 0)))
                for i, o in zip(chans[:-1], chans[1:])
            ]
            + [_conv(nn.Conv2d(last, last, (5, 1), 1, padding=(2, 0)))]
        )
        self.conv_post = _conv(nn.Conv2d(last, 1, (3, 1), padding=(1, 0)), act=False)

    def fold(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, T)`` → ``(B, 1, ceil(T/p), p)`` after reflect-padding to a multiple of p."""
        pad = -x.shape[-1] % self.period
        if pad:
            x = F.pad(x, (0, pad), mode="reflect")
        return x.reshape(x.shape[0], 1, -1, self.period)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.fold(x)
        return _feature_maps(self.convs, self.conv_post, x)


class MSD(nn.Module):
    """Multi-scale waveform discriminator branch (MelGAN) at ``sample_rate / rate``.

    Downsampling by 2 per octave uses MelGAN's own anti-aliasing average pool (kernel 4,
    stride 2); the official DAC resamples with a sinc filter instead. Off in the 44.1 kHz recipe.
    """

    def __init__(self, rate: int = 1):
        super().__init__()
        assert rate >= 1 and not rate & (rate - 1), rate  # DiscriminatorConfig checks it
        self.rate = rate
        spec = [
            (1, 16, 15, 1, 1, 7),
            (16, 64, 41, 4, 4, 20),
            (64, 256, 41, 4, 16, 20),
            (256, 1024, 41, 4, 64, 20),
            (1024, 1024, 41, 4, 256, 20),
            (1024, 1024, 5, 1, 1, 2),
        ]
        self.convs = nn.ModuleList(
            _conv(nn.Conv1d(i, o, k, s, groups=g, padding=p)) for i, o, k, s, g, p in spec
        )
        self.conv_post = _conv(nn.Conv1d(1024, 1, 3, 1, padding=1), act=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        rate = self.rate
        while rate > 1:
            x = F.avg_pool1d(x, 4, stride=2, padding=1, count_include_pad=False)
            rate //= 2
        return _feature_maps(self.convs, self.conv_post, x)


def complex_stft(x: torch.Tensor, window_length: int) -> torch.Tensor:
    """Complex STFT of ``(B, 1, T)`` as ``(B, 2, frames, bins)`` (real, imaginary), hop = window/4.

    Padding is chosen so that ``frames = ceil(T / hop)``: reflect-pad (window − hop)/2 on both
    sides plus the remainder on the right, run a centred STFT, drop two frames at each end.
    Half-precision input runs in fp32 (under bf16 autocast the generator's output is bf16, which
    cuFFT refuses); fp32 and fp64 input keep their precision.
    """
    x = at_least_fp32(x)
    hop = window_length // 4
    length = x.shape[-1]
    pad = (window_length - hop) // 2
    right = -length % hop
    x = F.pad(x, (pad, pad + right), mode="reflect").reshape(x.shape[0], -1)
    window = torch.hann_window(window_length, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, window_length, hop, window=window, center=True, return_complex=True)[
        ..., 2:-2
    ]
    return torch.view_as_real(spec).permute(0, 3, 2, 1)  # (B, F, frames, 2) -> (B, 2, frames, F)


class MRD(nn.Module):
    """Multi-band complex STFT discriminator branch for one window length.

    The real and imaginary STFT parts (phase kept, unlike magnitude-only discriminators) are
    split along frequency into bands; each band has its own conv stack (32 channels, strided
    along frequency), the band outputs are concatenated along frequency, and one conv gives the
    logits. Separate weights per band let high bands learn features of their own instead of
    being drowned out by the loud low frequencies.
    """

    def __init__(
        self, window_length: int, bands: tuple[tuple[float, float], ...] = BANDS, channels: int = 32
    ):
        super().__init__()
        self.window_length = window_length
        n_bins = window_length // 2 + 1
        self.bands = [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]
        ch = channels

        def stack() -> nn.ModuleList:
            return nn.ModuleList(
                [
                    _conv(nn.Conv2d(2, ch, (3, 9), (1, 1), padding=(1, 4))),
                    _conv(nn.Conv2d(ch, ch, (3, 9), (1, 2), padding=(1, 4))),
                    _conv(nn.Conv2d(ch, ch, (3, 9), (1, 2), padding=(1, 4))),
                    _conv(nn.Conv2d(ch, ch, (3, 9), (1, 2), padding=(1, 4))),
                    _conv(nn.Conv2d(ch, ch, (3, 3), (1, 1), padding=(1, 1))),
                ]
            )

        self.band_convs = nn.ModuleList(stack() for _ in self.bands)
        self.conv_post = _conv(nn.Conv2d(ch, 1, (3, 3), (1, 1), padding=(1, 1)), act=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        spec = complex_stft(x, self.window_length)
        fmap, outs = [], []
        for (lo, hi), stack in zip(self.bands, self.band_convs):
            band = spec[..., lo:hi]
            for layer in stack:
                band = layer(band)
                fmap.append(band)
            outs.append(band)
        fmap.append(self.conv_post(torch.cat(outs, dim=-1)))
        return fmap


@dataclass
class DiscriminatorConfig:
    """The discriminator's hyper-parameters; the defaults are the official 44.1 kHz recipe.

    The constructor checks them (``ValueError`` naming the problem); the modules trust them.
    """

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)  #: MPD periods (primes: the folds overlap little)
    fft_sizes: tuple[int, ...] = (2048, 1024, 512)  #: MRD window lengths, hop = window / 4
    bands: tuple[tuple[float, float], ...] = BANDS  #: MRD bands; ((0.0, 1.0),) turns the split off
    rates: tuple[int, ...] = ()  #: MSD downsampling rates, e.g. (1, 2, 4); empty = no MSD
    mpd_channels: tuple[int, ...] = (32, 128, 512, 1024)  #: MPD strided-conv widths
    mrd_channels: int = 32  #: MRD conv width per band

    def __post_init__(self) -> None:
        self.periods = tuple(int(p) for p in self.periods)
        self.fft_sizes = tuple(int(w) for w in self.fft_sizes)
        self.bands = tuple((float(lo), float(hi)) for lo, hi in self.bands)
        self.rates = tuple(int(r) for r in self.rates)
        self.mpd_channels = tuple(int(c) for c in self.mpd_channels)
        for lo, hi in self.bands:
            if not 0.0 <= lo < hi <= 1.0:
                raise ValueError(f"bands must be increasing fractions in [0, 1], got {self.bands}")
        if min(self.periods + self.fft_sizes + (1,)) < 1 or any(w % 4 for w in self.fft_sizes):
            raise ValueError("periods must be positive and fft sizes positive multiples of 4")
        if any(r < 1 or r & (r - 1) for r in self.rates):
            raise ValueError(f"MSD rates must be powers of two, got {self.rates}")


#: ``"44khz"`` is the official discriminator (42.52M parameters); ``"tiny"`` pairs with the tiny
#: codec on a CPU.
DISCRIMINATOR_PRESETS: dict[str, DiscriminatorConfig] = {
    "44khz": DiscriminatorConfig(),
    "tiny": DiscriminatorConfig(mpd_channels=(8, 16, 32, 64), mrd_channels=8),
}


class Discriminator(nn.Module):
    """All sub-discriminators together. ``forward(x (B, 1, T))`` → one list of feature maps per
    sub-discriminator (MPDs, then MSDs, then MRDs), each list ending with that branch's logits.

    Before judging, the DC offset is removed and each clip is scaled to a peak of 0.8, so the
    discriminator looks at shape, not loudness.
    """

    def __init__(self, config: DiscriminatorConfig | None = None):
        super().__init__()
        self.config = c = config if config is not None else DiscriminatorConfig()
        self.discriminators = nn.ModuleList(
            [MPD(p, c.mpd_channels) for p in c.periods]
            + [MSD(r) for r in c.rates]
            + [MRD(w, c.bands, c.mrd_channels) for w in c.fft_sizes]
        )

    @classmethod
    def from_preset(cls, name: str, **overrides) -> Discriminator:
        """A discriminator from ``DISCRIMINATOR_PRESETS`` by name, with optional field overrides."""
        check_choice(name, DISCRIMINATOR_PRESETS, "discriminator preset")
        return cls(replace(DISCRIMINATOR_PRESETS[name], **overrides))

    @property
    def min_length(self) -> int:
        """Shortest input (samples) every branch can take: reflect padding needs T > pad."""
        c = self.config
        return max([w // 2 for w in c.fft_sizes] + list(c.periods) + [1]) + 1

    @staticmethod
    def preprocess(x: torch.Tensor) -> torch.Tensor:
        """Remove the DC offset, scale each ``(B, 1, T)`` clip to a peak of 0.8, in fp32 at least.

        Half precision is upcast first: under ``torch.compile`` the gradient of this
        max-normalisation in bf16 comes out NaN (inductor recomputes ``x - mean`` in fp32, so no
        element equals the bf16 max that the backward of ``amax`` looks for;
        pytorch/pytorch#186799), and a peak in bf16 is crude anyway.
        """
        x = at_least_fp32(x)
        x = x - x.mean(dim=-1, keepdim=True)
        return 0.8 * x / (x.abs().amax(dim=-1, keepdim=True) + 1e-9)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Judge ``x`` ``(B, 1, T)``, T >= ``min_length``: the trainer's batches and reconstructions
        (which ``DAC.encode`` checked), so the input is trusted; a wrong shape is torch's error."""
        x = self.preprocess(x)
        return [d(x) for d in self.discriminators]
