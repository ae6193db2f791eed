# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 8. Training: two players, one loop
#
# [← 8. Training: two players, one loop](../08_training.ipynb)
#
# Worked solutions to the chapter's exercises. Each runs on the toy corpus in a few seconds; the
# open-ended one (8.6) is a small version of the experiment, with what to look for and how to
# extend it.

# %%
import sys

sys.path.insert(0, "..")  # chapters/: the book's helpers

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from book import REFERENCE_CODEC, ROOT, sizes
from scipy import signal
from torch import nn

from dac_minimal import DAC
from dac_minimal.data import (
    DOMAINS,
    SAMPLE_RATE,
    VALID_SEED_OFFSET,
    AudioFolder,
    DataConfig,
    ensure_toy_corpus,
    normalize_loudness,
    toy_clip,
)
from dac_minimal.discriminator import Discriminator
from dac_minimal.loss import discriminator_loss
from dac_minimal.train import NonFiniteLossError, TrainConfig, Trainer, draw_batch, read_csv

# Solution 8.6: fine-tuning steps per run, and the runs as (full-band files kept, fullband_prob)
TUNE_STEPS, SETTINGS = sizes(
    (20, 2), ([(6, 0.75), (1, 0.75), (1, 0.0), (0, 0.75)], [(6, 0.75), (0, 0.75)])
)
torch.manual_seed(0)
RUNS = ROOT / "runs" / "ch08_solutions"  # git-ignored
shutil.rmtree(RUNS, ignore_errors=True)
corpus = ensure_toy_corpus()


def tiny_config(out, steps, **overrides):
    """A tiny run on the toy corpus with 3 excerpts of 0.05 s: fast enough for many runs."""
    settings = dict(
        preset="tiny",
        data=str(corpus.train),
        valid_data=str(corpus.valid),
        out=str(out),
        steps=steps,
        batch_size=3,
        duration=0.05,
        val_duration=0.05,
        val_clips_per_domain=1,
        log_every=1,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
        threads=1,
    )
    return TrainConfig(**{**settings, **overrides})


# %% [markdown]
# ### Solution 8.1
#
# A checkpoint every 2 steps, then a second run that resumes from it: the per-step losses of
# steps 3 and 4 match the uninterrupted run's to the last bit.


# %%
def tiny_run(out, steps, resume=False):
    Trainer(tiny_config(out, steps, ckpt_every=2, resume=resume)).fit()
    return read_csv(Path(out) / "metrics.csv")


straight = tiny_run(RUNS / "ex1_straight", 4)
tiny_run(RUNS / "ex1_resumed", 2)
resumed = tiny_run(RUNS / "ex1_resumed", 4, resume=True)
for name in ("discriminator", "mel", "feature", "adversarial", "codebook", "commitment"):
    np.testing.assert_array_equal(resumed[name], straight[name])
print("steps 1-4, mel:", straight["mel"].round(4), "identical after resuming")

# %% [markdown]
# The batches need no saved state: each is a function of `(seed, rank, step)`. What does draw
# from a random generator during a step is quantizer dropout: which items of the batch use fewer
# codebooks, and how many. Without torch's random state in the checkpoint, the resumed run would
# draw other dropout choices, and the codebook and commitment losses of step 3 would already
# differ (and with them everything after).
#
# ### Solution 8.2
#
# $\eta_t = \eta_0 \gamma^t$ halves when $\gamma^t = 1/2$, at $t = \ln 2 / (-\ln\gamma)$. With
# $\gamma = 0.999996$ that is about 173,000 iterations; after 400,000 the rate is
# $\gamma^{400000} \approx e^{-1.6} \approx 0.2$ of where it started.

# %%
gamma = 0.999996
half_life = np.log(2) / -np.log(gamma)
print(
    f"halved after {half_life:,.0f} iterations; after 400k: {1e-4 * gamma**400_000:.2e} "
    f"({gamma**400_000:.2f} of the start)"
)
opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1e-4)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
for _ in range(1000):
    opt.step()
    sched.step()
np.testing.assert_allclose(sched.get_last_lr()[0], 1e-4 * gamma**1000, rtol=1e-9)
assert 173_000 < half_life < 173_500

# %% [markdown]
# ### Solution 8.3
#
# The trainer reads every loss back once per side before the optimizer step; a NaN stops the run
# with the step and the term in the message, and nothing is saved.


# %%
class NaNLoss(nn.Module):
    def forward(self, x_hat, x):
        return x_hat.sum() * float("nan")


broken = Trainer(tiny_config(RUNS / "ex3", 1, ckpt_every=1))
broken.mel = NaNLoss()
try:
    broken.fit()
    raise AssertionError("the NaN went unnoticed")
except NonFiniteLossError as err:
    print(err)
    assert "step 1" in str(err) and "mel = nan" in str(err)
assert not (RUNS / "ex3" / "latest.pt").exists()  # nothing bad was saved

# %% [markdown]
# ### Solution 8.4
#
# Without the detach, $\mathcal L_D = \sum_k (1 - D_k(x))^2 + D_k(\hat x)^2$ depends on $G$'s
# weights through $\hat x$, so its backward pass fills $G$'s gradients too. Its real part does not
# depend on $G$; its fake part $D_k(\hat x)^2$ is lowered by making $\hat x$ score closer to 0,
# that is, *more obviously fake*. Any step that used these gradients would train $G$ to help the
# discriminator, against its own adversarial loss. (In the trainer the D step only updates $D$,
# and the G step zeroes the gradients first, but the wasted backward pass through the whole
# codec would remain.) With one batch:

# %%
G, D = DAC.from_preset("tiny").eval(), Discriminator.from_preset("tiny")
folder = AudioFolder(corpus.train, DataConfig(duration=0.2))
x = draw_batch(folder, 3, seed=0, rank=0, step=1)
g_params = list(G.parameters())


def d_loss(detach: bool) -> torch.Tensor:
    x_hat = G(x).audio
    return discriminator_loss(D(x_hat.detach() if detach else x_hat), D(x))


def g_grad_norm() -> float:
    grads = [p.grad.norm() for p in g_params if p.grad is not None]
    return float(torch.stack(grads).norm()) if grads else 0.0


for detach in (True, False):
    G.zero_grad(set_to_none=True)
    d_loss(detach).backward()
    print(f"detach={detach!s:>5}: gradient norm D's loss leaves in G = {g_grad_norm():.4g}")
assert g_grad_norm() > 0


def fake_term() -> float:
    with torch.no_grad():
        return sum(fmap[-1].pow(2).mean() for fmap in D(G(x).audio)).item()


before = fake_term()
with torch.no_grad():  # a small step of G down the undetached gradient of D's loss
    norm = g_grad_norm()
    for p in g_params:
        if p.grad is not None:
            p -= 1e-2 * p.grad / norm
after = fake_term()
print(f"sum_k mean D_k(x_hat)^2: {before:.6f} -> {after:.6f} (x_hat looks more fake to D)")
assert after < before

# %% [markdown]
# ### Solution 8.5
#
# A draw is full band either when the loader picks the full-band pool (probability $q$), or when
# it picks from all files (probability $1 - q$) and lands on a full-band one (probability $f$):
#
# $$P(\text{full band}) = q + (1 - q)\,f .$$
#
# With $f = 3/4$ and $q = 0.75$: $0.75 + 0.25 \cdot 0.75 = 0.9375$. For half of the draws to be
# full band when $f = 0.1$, solve $q + (1 - q) \cdot 0.1 = 0.5$:
# $q = 0.4 / 0.9 = 4/9 \approx 0.44$. (Without the preference, $q = 0$, a draw is full band with
# probability $f$ only.) The toy corpus's speech domain has 6 full-band files of 8:


# %%
def full_band_share(folder, domain, draws=20_000, seed=0):
    rng = np.random.default_rng(seed)
    return np.mean([folder.choose(domain, rng).fullband for _ in range(draws)])


def predicted(q, f):
    return q + (1 - q) * f


f = np.mean([it.fullband for it in folder.items["speech"]])
q = folder.config.fullband_prob
share = full_band_share(folder, "speech")
print(f"f = {f}, q = {q}: predicted {predicted(q, f):.4f}, drawn {share:.4f}")
assert abs(share - predicted(q, f)) < 0.01

# A domain with one full-band file in ten: the same item marked band-limited nine times.
item = next(it for it in folder.items["speech"] if it.fullband)
folder.items["speech"] = [item] + [dataclasses.replace(item, fullband=False)] * 9
folder.config.fullband_prob = 4 / 9
share = full_band_share(folder, "speech")
print(f"f = 0.1, q = 4/9: drawn {share:.4f} (predicted {predicted(4 / 9, 0.1):.4f})")
assert abs(share - 0.5) < 0.015

# %% [markdown]
# ### Solution 8.6
#
# A way in, small enough to run here: fine-tune the 15-minute codec for `TUNE_STEPS` steps on
# toy corpora in which all but a share of each domain's full-band files are low-passed at 8 kHz,
# with the loader's preference on (`fullband_prob` 0.75) and off (0), and measure on held-out
# clips (a) the energy of the top octave (11.025–22.05 kHz) relative to the total, on full-band
# inputs, and (b) the mel distance on the same clips low-passed at 8 kHz, where the preference
# might cost something. The toy corpus has 8 files per domain, 6 of them full band.


# %%
def lowpass(x, cutoff, sr=SAMPLE_RATE):
    spectrum = np.fft.rfft(x, axis=0)
    spectrum[np.fft.rfftfreq(len(x), 1 / sr) > cutoff] = 0.0
    return np.fft.irfft(spectrum, len(x), axis=0)


toy_train = AudioFolder(corpus.train)  # which files are full band


def make_corpus(keep: int) -> Path:
    """The toy train split with only `keep` full-band files per domain; the others at 8 kHz."""
    out = RUNS / f"keep_{keep}"
    if out.is_dir():
        return out
    for domain in DOMAINS:
        full = [it.path for it in toy_train.items[domain] if it.fullband]
        for path in sorted((corpus.train / domain).glob("*.wav")):
            audio, sr = sf.read(path)
            if path not in full[:keep]:
                audio = lowpass(audio, 8000.0, sr)
            (out / domain).mkdir(parents=True, exist_ok=True)
            sf.write(out / domain / path.name, audio.astype(np.float32), sr)
    return out


def fine_tune(data: Path, q: float, name: str) -> Trainer:
    cfg = tiny_config(
        RUNS / name, TUNE_STEPS, data=str(data), duration=0.2, init_from=str(REFERENCE_CODEC)
    )
    run = Trainer(cfg)
    run.data.config.fullband_prob = q  # the preference is the loader's, not a TrainConfig field
    return run.fit()


clips = [toy_clip(d, 0.5, seed=VALID_SEED_OFFSET, index=i) for d in DOMAINS for i in (0, 1)]
wide = torch.tensor(
    np.stack([normalize_loudness(c.astype(np.float64), SAMPLE_RATE, -24.0) for c in clips])
).float()[:, None]
narrow = torch.from_numpy(lowpass(wide[:, 0].numpy().T, 8000.0).T.copy()).float()[:, None]


def top_octave_db(y):
    f, power = signal.welch(y[:, 0].numpy(), fs=SAMPLE_RATE, nperseg=2048)
    return float(10 * np.log10(power[:, f >= 11025].sum(-1) / power.sum(-1)).mean())


results = {}
for keep, q in SETTINGS:  # with no full-band file left, q changes nothing
    run = fine_tune(make_corpus(keep), q, f"keep{keep}_q{q}")
    results[keep, q] = (
        top_octave_db(run.reconstruct(wide)),
        run.mel(run.reconstruct(narrow), narrow).item(),
    )
print(f"held-out full-band clips: top octave {top_octave_db(wide):.1f} dB")
print(f"{'full-band files':>16} {'q':>5} {'top octave (dB)':>16} {'mel on 8 kHz clips':>19}")
for (keep, q), (top, mel) in results.items():
    print(f"{keep:>11} of 8 {q:5.2f} {top:16.1f} {mel:19.3f}")
assert results[6, 0.75][0] > results[0, 0.75][0]

# %% [markdown]
# What to look for: the top-octave energy falls as fewer full-band files remain, and with one
# full-band file in eight the preference ($q = 0.75$) should hold on to more of it than uniform
# sampling ($q = 0$), since by solution 8.5 it makes about three draws in four full band instead
# of one in eight. The last column tells whether that costs anything on band-limited inputs. A
# few dozen steps of fine-tuning are a noisy measurement: to make it a real experiment, fine-tune
# for a few hundred steps, repeat each setting with two or three seeds (`seed=`), score on more
# held-out clips, and try a share between 1 and 6 of 8 as well. From scratch instead of from the
# 15-minute codec the question is harder and the runs longer (`benchmarks/tiny_vs_opus.py`
# trains for 15 minutes; `--set data=DIR` points it at your corpus).
