"""One full training iteration (discriminator step, then generator step) of the 44.1 kHz model: ours vs the
official package's modules, on the same batch, in one process.

    PYTHONPATH=. ~/.cache/dac_minimal/official-venv/bin/python benchmarks/train_step_speed.py   # after
    python benchmarks/official_parity.py --setup                                               # made that venv

Both generators and discriminators are driven by the same step function and the same loss functions
(``dac_minimal.loss``: 15·mel + 2·feature + 1·adversarial + 1·codebook + 0.25·commitment, least-squares GAN), so
the comparison is of the modules. Prints seconds per iteration (median after a warm-up) and the ratio. On a GPU,
``--device cuda --amp --compile`` times ours with bf16 autocast and torch.compile against the official fp32 step.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dac_minimal import DAC, LOSS_WEIGHTS, Discriminator, MultiScaleMelLoss
from dac_minimal.loss import discriminator_loss, feature_matching_loss, generator_adversarial_loss


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


def ours_forward(gen, x):
    out = gen(x)
    return out.audio, out.commitment_loss, out.codebook_loss


def official_forward(gen, x):
    out = gen(x, 44100)
    return out["audio"], out["vq/commitment_loss"], out["vq/codebook_loss"]


def time_it(gen, disc, forward, x, steps: int, amp: bool) -> float:
    gen.train(), disc.train()
    mel = MultiScaleMelLoss().to(x.device)
    opt_g = torch.optim.AdamW(gen.parameters(), 1e-4, betas=(0.8, 0.99))
    opt_d = torch.optim.AdamW(disc.parameters(), 1e-4, betas=(0.8, 0.99))
    times = []
    for _ in range(steps + 1):  # the first is a warm-up
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp)
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--duration", type=float, default=0.38)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="ours with bf16 autocast (CUDA)")
    parser.add_argument("--compile", action="store_true", help="ours with torch.compile")
    args = parser.parse_args()
    import dac  # the official package, from its own venv
    from dac.model.discriminator import Discriminator as OfficialDiscriminator

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = (torch.randn(args.batch_size, 1, int(args.duration * 44100)) * 0.1).to(device)
    results = {}
    theirs = dac.DAC().to(device), OfficialDiscriminator().to(device)
    results["official descript-audio-codec (fp32)"] = time_it(*theirs, official_forward, x, args.steps, False)
    del theirs
    gen, disc = DAC().to(device), Discriminator().to(device)
    if args.compile:
        gen, disc = torch.compile(gen), torch.compile(disc)
    label = "dac-minimal" + (" (bf16)" if args.amp else " (fp32)") + (" + compile" if args.compile else "")
    results[label] = time_it(gen, disc, ours_forward, x, args.steps, args.amp)
    print(f"one D+G iteration, batch {args.batch_size} x {args.duration} s, {args.device}, "
          f"{torch.get_num_threads()} threads, median of {args.steps} after a warm-up:")
    reference = results["official descript-audio-codec (fp32)"]
    for name, seconds in results.items():
        print(f"  {name:40s} {seconds:8.2f} s   speed-up {reference / seconds:5.2f}x")


if __name__ == "__main__":
    main()
