"""One full training iteration (discriminator step, then generator step) of the 44.1 kHz model: ours
vs the official package's modules, on the same batch, in one process.

    python benchmarks/official_parity.py --setup   # once: the official package in its own venv
    PYTHONPATH=. ~/.cache/dac_minimal/official-venv/bin/python benchmarks/train_step_speed.py
    python benchmarks/train_step_speed.py --device cuda --batch-size 15 \\
        --ours fp32 bf16 bf16+snake bf16+compile
    python benchmarks/train_step_speed.py --no-official --preset tiny --batch-size 6 \\
        --ours fp32 fp32+snake fp32+compile

Both generators and discriminators are driven by the same step function and the same loss functions
(``dac_minimal.loss``: 15·mel + 2·feature + 1·adversarial + 1·codebook + 0.25·commitment,
least-squares GAN), so the comparison is of the modules. Prints seconds per iteration (median after
the warm-ups), the speed-up over the official fp32 step and, on CUDA, the peak GPU memory of each.
``--ours`` lists our variants to time, each a precision and options joined by ``+``: ``fp32`` or
``bf16`` (autocast, CUDA); ``+unfused`` (Snake as autograd through eq. (1)'s operators,
``layers.snake_unfused``: the package's Snake until 2026-12-08, against the default hand-written
``layers.snake``); ``+snake`` (Snake fused by ``torch.compile``, ``layers.compile_snakes``);
``+compile`` (``torch.compile`` of the generator and discriminator); ``+graphs`` (the same in
``mode="reduce-overhead"``: CUDA graphs replay each compiled graph's kernels with one launch, for a
step bound by launching kernels, as it is on an H200); ``+cudnn``
(``torch.backends.cudnn.benchmark``: cuDNN times its algorithms for each new shape and keeps the
fastest); ``+cl`` (the discriminator's 2-D convolutions in channels-last memory format, which tensor
cores prefer). Compiled variants' first iterations compile and are not timed. ``--official`` lists
the official side's variants the same way (``fp32``, ``fp32+cudnn``); the first is the reference.
Library defaults are kept otherwise (on CUDA that means cuDNN may use TF32 for convolutions in
"fp32"). ``--profile N`` profiles one more iteration of each variant and prints its N most expensive
operators. ``--check-gradients`` first compares the gradients of one generator step with the fused
and the unfused Snake (float rounding: about 1e-6). ``--no-official`` times ours alone, against the
first of ``--ours``; ``--preset`` picks our model (and its discriminator, as the trainer does; other
presets than 44khz need ``--no-official``), ``--no-gan`` times the generator step alone (mel and VQ
losses: the tiny recipe before ``gan_start``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from protocol import alternate, load_average, report

from dac_minimal import DAC, LOSS_WEIGHTS, Discriminator, MultiScaleMelLoss
from dac_minimal.layers import Snake, compile_snakes
from dac_minimal.loss import discriminator_loss, feature_matching_loss, generator_adversarial_loss
from dac_minimal.model import PRESETS
from dac_minimal.train import CodecForward, discriminator_preset_for
from dac_minimal.utils.checks import skip_finite_checks


def iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp: bool, graphs: bool = False) -> None:
    """The recipe's iteration: D on a detached reconstruction, then G on everything (``disc=None``:
    G on the mel and VQ losses alone, as before the tiny recipe's ``gan_start``). Our modules skip
    their NaN scans of the audio, as in the trainer's step (``skip_finite_checks``: each scan would
    wait for the GPU)."""
    with skip_finite_checks():
        _iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp, graphs)


def _iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp: bool, graphs: bool) -> None:
    if (
        graphs
    ):  # CUDA graphs ("+graphs"): a new iteration begins, the previous one's graph outputs are dead
        torch.compiler.cudagraph_mark_step_begin()
    autocast = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp)
    with autocast:
        audio, commitment, codebook = forward(gen, x)
    adversarial = {}
    if disc is not None:
        with autocast:
            loss_d = discriminator_loss(disc(audio.detach()), disc(x))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        torch.nn.utils.clip_grad_norm_(disc.parameters(), 10.0)
        opt_d.step()
        with autocast:
            d_fake, d_real = disc(audio), disc(x)
            adversarial = {
                "feature": feature_matching_loss(d_fake, d_real),
                "adversarial": generator_adversarial_loss(d_fake),
            }
    losses = {
        "mel": mel(audio.float(), x),
        **adversarial,
        "commitment": commitment,
        "codebook": codebook,
    }
    opt_g.zero_grad(set_to_none=True)
    LOSS_WEIGHTS.total(losses).backward()
    torch.nn.utils.clip_grad_norm_(gen.parameters(), 1000.0)
    opt_g.step()


PRECISIONS = ("fp32", "bf16")
OPTIONS = ("unfused", "snake", "compile", "graphs", "cudnn", "cl")


def parse_variant(text: str) -> str:
    """Check a variant such as ``"bf16+snake+cudnn"`` (a precision, then options); a clear error for
    anything else."""
    precision, *options = text.split("+")
    unknown = [o for o in options if o not in OPTIONS]
    if precision not in PRECISIONS or unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a variant is {' or '.join(PRECISIONS)} followed by any of "
            f"{', '.join('+' + o for o in OPTIONS)}"
        )
    return text


def ours_forward(gen, x):
    out = gen(x)
    return out.audio, out.commitment_loss, out.codebook_loss


def official_forward(gen, x):
    out = gen(x, 44100)
    return out["audio"], out["vq/commitment_loss"], out["vq/codebook_loss"]


def make_step(gen, disc, forward, x, amp: bool, graphs: bool = False) -> Callable[[], None]:
    """One training iteration of ``gen`` (and ``disc``) on ``x`` as a call, with its own optimizers
    and mel loss; on CUDA the call waits for the device, so that its wall time is the step's."""
    gen.train()
    mel = MultiScaleMelLoss().to(x.device)
    opt_g = torch.optim.AdamW(gen.parameters(), 1e-4, betas=(0.8, 0.99))
    opt_d = None
    if disc is not None:
        opt_d = torch.optim.AdamW(disc.train().parameters(), 1e-4, betas=(0.8, 0.99))
    cuda = x.device.type == "cuda"

    def step() -> None:
        if cuda:
            torch.cuda.synchronize()
        iteration(gen, disc, mel, opt_g, opt_d, x, forward, amp, graphs)
        if cuda:
            torch.cuda.synchronize()

    return step


def use_fused_snake(model: torch.nn.Module, fused: bool) -> None:
    """Every ``Snake`` of ``model`` runs ``layers.snake`` (``fused``) or ``snake_unfused``."""
    for m in model.modules():
        if isinstance(m, Snake):
            m.fused = fused


def generator_gradients(preset: str, x: torch.Tensor, fused: bool, gan: bool) -> dict:
    """Our generator's parameter gradients of one G step on ``x`` (mel, VQ and, with ``gan``, the
    adversarial and feature losses of a discriminator), from seed 0; ``fused=False``: every Snake
    runs ``snake_unfused``."""
    torch.manual_seed(0)
    gen = CodecForward(DAC.from_preset(preset).to(x.device)).train()
    use_fused_snake(gen, fused)
    disc = Discriminator.from_preset(discriminator_preset_for(preset)).to(x.device) if gan else None
    mel = MultiScaleMelLoss().to(x.device)
    with skip_finite_checks():
        audio, commitment, codebook = ours_forward(gen, x)
        losses = {"mel": mel(audio, x), "commitment": commitment, "codebook": codebook}
        if disc is not None:
            d_fake, d_real = disc(audio), disc(x)
            losses["feature"] = feature_matching_loss(d_fake, d_real)
            losses["adversarial"] = generator_adversarial_loss(d_fake)
        LOSS_WEIGHTS.total(losses).backward()
    return {n: p.grad for n, p in gen.named_parameters() if p.grad is not None}


def gradient_difference(preset: str, x: torch.Tensor, gan: bool = True) -> float:
    """The largest difference between the G-step gradients with the fused and the unfused Snake,
    each parameter's relative to its largest gradient (0 if identical; 1e-5 is float rounding).
    TF32 is off meanwhile: its 10-bit rounding would amplify the Snakes' last-bit differences."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        fused = generator_gradients(preset, x, True, gan)
        unfused = generator_gradients(preset, x, False, gan)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    assert fused.keys() == unfused.keys()
    return max(
        float((fused[n] - unfused[n]).abs().max() / unfused[n].abs().max().clamp_min(1e-30))
        for n in fused
    )


def step_peak_memory(step: Callable[[], None], device: torch.device) -> float:
    """GiB a step allocates on a CUDA ``device`` beyond what was allocated before it (CPU: nan)."""
    if device.type != "cuda":
        return float("nan")
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    step()
    return (torch.cuda.max_memory_allocated(device) - before) / 2**30


def print_profile(step: Callable[[], None], device: torch.device, rows: int) -> None:
    """Run ``step`` once under ``torch.profiler`` and print its ``rows`` costliest operators."""
    cuda = device.type == "cuda"
    activities = [torch.profiler.ProfilerActivity.CPU]
    activities += [torch.profiler.ProfilerActivity.CUDA] if cuda else []
    with torch.profiler.profile(activities=activities) as prof:
        step()
    sort_by = "self_device_time_total" if cuda else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort_by, row_limit=rows, max_name_column_width=60))


def time_it(gen, disc, forward, x, steps: int, amp: bool, warmup: int = 1) -> tuple[float, float]:
    """(median seconds of ``steps`` iterations after ``warmup`` untimed ones, step peak memory in
    GiB or nan): one variant alone, for a quick check; ``main`` alternates several instead."""
    step = make_step(gen, disc, forward, x, amp)
    for _ in range(warmup - 1):  # alternate() makes the last warm-up call itself
        step()
    timing = alternate({"variant": step}, runs=steps)[0]
    return timing.median, step_peak_memory(step, x.device)


def prepare(variant: str, gen, disc, forward, x, args) -> tuple[Callable[[], None], float]:
    """The step of one variant (``"bf16+snake"``...), warmed up: ``(step, seconds of warm-up)``.

    A compiled variant's warm-up (``--compile-warmup`` iterations) is where it compiles; the time
    is printed apart and not counted in the step's median.
    """
    precision, *options = variant.split("+")
    torch.backends.cudnn.benchmark = "cudnn" in options
    if "unfused" in options:
        use_fused_snake(gen, False)
    if "snake" in options:
        compile_snakes(gen)
    if "cl" in options and disc is not None:
        disc = disc.to(memory_format=torch.channels_last)
    compiled = bool({"snake", "compile", "graphs"} & set(options))
    if "compile" in options or "graphs" in options:
        mode = "reduce-overhead" if "graphs" in options else None
        gen = torch.compile(gen, mode=mode)
        disc = None if disc is None else torch.compile(disc, mode=mode)
    step = make_step(gen, disc, forward, x, precision == "bf16", graphs="graphs" in options)
    if not compiled:
        return step, 0.0
    start = time.perf_counter()
    for _ in range(args.compile_warmup):
        step()
    return step, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--duration", type=float, default=0.38)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--ours",
        nargs="+",
        default=["fp32"],
        type=parse_variant,
        help="our variants to time, e.g. fp32 bf16+snake+cudnn (default: fp32)",
    )
    parser.add_argument(
        "--official",
        nargs="+",
        default=["fp32"],
        type=parse_variant,
        help="the official side's variants; the first is the reference (default: fp32)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="print the N costliest operators of one profiled iteration of each variant",
    )
    parser.add_argument(
        "--compile-warmup", type=int, default=3, help="untimed iterations of a compiled variant"
    )
    parser.add_argument(
        "--no-official",
        action="store_true",
        help="time ours only (no official package here): the first of --ours is the reference",
    )
    parser.add_argument(
        "--preset",
        default="44khz",
        choices=sorted(PRESETS),
        help="our codec preset (and its discriminator); the official side is the 44.1 kHz model",
    )
    parser.add_argument(
        "--check-gradients",
        action="store_true",
        help="first compare one G step's gradients with the fused and the unfused Snake",
    )
    parser.add_argument(
        "--no-gan",
        action="store_true",
        help="generator steps on the mel and VQ losses alone (the tiny recipe before gan_start)",
    )
    args = parser.parse_args()
    if args.preset != "44khz" and not args.no_official:
        parser.error(
            f"--preset {args.preset}: the official side is the 44.1 kHz model; add --no-official"
        )
    if args.device == "cpu" and any(v.startswith("bf16") for v in args.ours + args.official):
        parser.error("bf16 autocast is timed on CUDA only (--device cuda)")

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = (torch.randn(args.batch_size, 1, int(args.duration * 44100)) * 0.1).to(device)
    what = "G (mel + VQ losses)" if args.no_gan else "D+G"
    print(
        f"one {what} iteration of {args.preset}, batch {args.batch_size} x {args.duration} s, "
        f"{args.device}"
        + (
            f" ({torch.cuda.get_device_name(device)})"
            if device.type == "cuda"
            else f", {torch.get_num_threads()} threads"
        )
        + f", torch {torch.__version__}; alternated, {args.steps} timed runs each:",
        flush=True,
    )
    if args.check_gradients:
        diff = gradient_difference(args.preset, x, gan=not args.no_gan)
        print(
            f"  gradients of one G step, fused vs unfused Snake: largest difference {diff:.1e} "
            "of each parameter's largest gradient",
            flush=True,
        )
    steps, names = {}, []

    def add(name: str, variant: str, gen, disc, forward) -> None:
        label = f"{name} ({variant})"
        steps[label], warm = prepare(variant, gen, disc, forward, x, args)
        if warm > 0:
            print(f"  {label}: warm-up with compilation {warm:.0f} s", flush=True)
        if args.profile:
            print_profile(steps[label], device, args.profile)
        names.append(label)

    if not args.no_official:
        try:
            import dac  # the official package, from its own venv
            from dac.model.discriminator import Discriminator as OfficialDiscriminator
        except ImportError as err:
            raise SystemExit(
                f"the official package does not import ({err}); make its venv with "
                "`python benchmarks/official_parity.py --setup`, or pass --no-official"
            ) from None
        for variant in args.official:
            if "snake" in variant or "bf16" in variant:
                parser.error(
                    f"--official {variant}: the official side runs its own Snake in fp32 "
                    "(options: +cudnn, +cl, +compile, +graphs)"
                )
            torch.manual_seed(0)
            disc = None if args.no_gan else OfficialDiscriminator().to(device)
            add("official", variant, dac.DAC().to(device), disc, official_forward)
    for variant in args.ours:
        torch.manual_seed(0)
        # the trainer's forward pass: the quantizer stays fp32 under autocast
        gen = CodecForward(DAC.from_preset(args.preset).to(device))
        disc = None
        if not args.no_gan:
            disc = Discriminator.from_preset(discriminator_preset_for(args.preset)).to(device)
        add(f"dac-minimal {args.preset}", variant, gen, disc, ours_forward)
    load_before = load_average()
    timings = alternate(steps, runs=args.steps)
    report(timings, names[0], args.threads, load_before, load_average())
    if device.type == "cuda":
        for name in names:
            print(f"  {name:48s} step peak {step_peak_memory(steps[name], device):6.1f} GiB")


if __name__ == "__main__":
    main()
