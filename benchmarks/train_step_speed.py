"""One full training iteration (discriminator step, then generator step) of the 44.1 kHz model: ours vs the
official package's modules, on the same batch, in one process.

    PYTHONPATH=. ~/.cache/dac_minimal/official-venv/bin/python benchmarks/train_step_speed.py   # after
    python benchmarks/official_parity.py --setup                                               # made that venv
    python benchmarks/train_step_speed.py --device cuda --batch-size 16 --ours fp32 bf16 bf16+compile   # a GPU

Both generators and discriminators are driven by the same step function and the same loss functions
(``dac_minimal.loss``: 15·mel + 2·feature + 1·adversarial + 1·codebook + 0.25·commitment, least-squares GAN), so
the comparison is of the modules. Prints seconds per iteration (median after the warm-ups), the speed-up over the
official fp32 step and, on CUDA, the peak GPU memory of each. ``--ours`` lists our variants to time: ``fp32``,
``bf16`` (autocast, CUDA), ``+compile`` (``torch.compile``; its first iterations compile and are not timed).
Library defaults are kept on both sides (on CUDA that means cuDNN may use TF32 for convolutions in "fp32").
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from dac_minimal import DAC, LOSS_WEIGHTS, Discriminator, MultiScaleMelLoss
from dac_minimal.loss import discriminator_loss, feature_matching_loss, generator_adversarial_loss
from dac_minimal.train import CodecForward


def iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp: bool) -> None:
    """The recipe's iteration: D on a detached reconstruction, then G on everything."""
    autocast = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp)
    with autocast:
        audio, commitment, codebook = forward(gen, x)
        loss_d = discriminator_loss(disc(audio.detach()), disc(x))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    torch.nn.utils.clip_grad_norm_(disc.parameters(), 10.0)
    opt_d.step()
    with autocast:
        d_fake, d_real = disc(audio), disc(x)
        losses = {"mel": mel(audio.float(), x), "feature": feature_matching_loss(d_fake, d_real),
                  "adversarial": generator_adversarial_loss(d_fake), "commitment": commitment, "codebook": codebook}
    opt_g.zero_grad(set_to_none=True)
    LOSS_WEIGHTS.total(losses).backward()
    torch.nn.utils.clip_grad_norm_(gen.parameters(), 1000.0)
    opt_g.step()


VARIANTS = ("fp32", "bf16", "fp32+compile", "bf16+compile")


def ours_forward(gen, x):
    out = gen(x)
    return out.audio, out.commitment_loss, out.codebook_loss


def official_forward(gen, x):
    out = gen(x, 44100)
    return out["audio"], out["vq/commitment_loss"], out["vq/codebook_loss"]


def time_it(gen, disc, forward, x, steps: int, amp: bool, warmup: int = 1) -> tuple[float, float]:
    """(median seconds per iteration after ``warmup`` untimed ones, peak CUDA memory in GiB or nan)."""
    gen.train(), disc.train()
    mel = MultiScaleMelLoss().to(x.device)
    opt_g = torch.optim.AdamW(gen.parameters(), 1e-4, betas=(0.8, 0.99))
    opt_d = torch.optim.AdamW(disc.parameters(), 1e-4, betas=(0.8, 0.99))
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(x.device)
    times = []
    for _ in range(steps + warmup):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(x.device) / 2**30 if cuda else float("nan")
    return statistics.median(times[warmup:]), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--duration", type=float, default=0.38)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ours", nargs="+", default=["fp32"], choices=VARIANTS,
                        help="our variants to time (default: fp32)")
    parser.add_argument("--compile-warmup", type=int, default=3, help="untimed iterations of a compiled variant")
    parser.add_argument("--no-official", action="store_true", help="time ours only (no official package here)")
    args = parser.parse_args()
    if args.device == "cpu" and any("bf16" in v for v in args.ours):
        parser.error("bf16 autocast is timed on CUDA only (--device cuda)")

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = (torch.randn(args.batch_size, 1, int(args.duration * 44100)) * 0.1).to(device)
    print(f"one D+G iteration, batch {args.batch_size} x {args.duration} s, {args.device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else f", {torch.get_num_threads()} threads")
          + f", torch {torch.__version__}, median of {args.steps}:", flush=True)
    reference = math.nan

    def report(name: str, seconds: float, peak: float) -> None:  # one line per variant, as soon as it is timed
        memory = f"   peak {peak:6.1f} GiB" if device.type == "cuda" else ""
        print(f"  {name:40s} {seconds:8.3f} s   speed-up {reference / seconds:5.2f}x{memory}", flush=True)

    if not args.no_official:
        try:
            import dac  # the official package, from its own venv
            from dac.model.discriminator import Discriminator as OfficialDiscriminator
        except ImportError as err:
            raise SystemExit(f"the official package does not import ({err}); make its venv with "
                             "`python benchmarks/official_parity.py --setup`, or pass --no-official") from None
        theirs = dac.DAC().to(device), OfficialDiscriminator().to(device)
        reference, peak = time_it(*theirs, official_forward, x, args.steps, False)
        report("official descript-audio-codec (fp32)", reference, peak)
        del theirs
    for variant in args.ours:
        torch.manual_seed(0)
        # the trainer's forward pass: the quantizer stays fp32 under autocast
        gen, disc = CodecForward(DAC().to(device)), Discriminator().to(device)
        compiled = variant.endswith("+compile")
        if compiled:
            gen, disc = torch.compile(gen), torch.compile(disc)
        report(f"dac-minimal ({variant})", *time_it(gen, disc, ours_forward, x, args.steps, variant.startswith("bf16"),
                                                    warmup=args.compile_warmup if compiled else 1))
        del gen, disc
        if device.type == "cuda":
            torch.cuda.empty_cache()

if __name__ == "__main__":
    main()
