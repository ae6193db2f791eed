"""The helpers of the benchmark scripts in ``benchmarks/`` (they are run by hand, so their logic is
checked here)."""

import argparse
import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

from dac_minimal import DAC, Discriminator
from dac_minimal.train import CodecForward

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    """Import ``benchmarks/<name>.py`` as the scripts run (their folder first on ``sys.path``)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_opus_benchmark_can_bypass_the_quantizer():
    """``tiny_vs_opus.py --no-quantizer`` (the architecture's ceiling): the decoder gets the
    encoder's latent unchanged and the VQ losses are zero, in training as in evaluation; a plain
    model quantizes."""
    bench = load("tiny_vs_opus")
    torch.manual_seed(0)
    x = 0.1 * torch.randn(2, 1, 4096)
    model = DAC.from_preset("tiny").train()
    z = model.encoder(model.preprocess(x))
    assert not torch.allclose(model(x).z, z)  # quantized: z_q is not z
    bench.bypass_quantizer(model)
    out = model(x)
    torch.testing.assert_close(out.z, z)
    torch.testing.assert_close(out.audio, model.decoder(z)[..., : x.shape[-1]])
    assert float(out.codebook_loss) == 0.0 and float(out.commitment_loss) == 0.0


@pytest.mark.parametrize(
    "variant", ["fp32", "bf16", "bf16+snake+cudnn", "fp32+compile+graphs+cl", "fp32+unfused"]
)
def test_step_speed_accepts_a_precision_then_options(variant):
    assert load("train_step_speed").parse_variant(variant) == variant


@pytest.mark.parametrize("variant", ["fp16", "snake", "fp32+fast", "fp32+", ""])
def test_step_speed_names_a_bad_variant(variant):
    with pytest.raises(argparse.ArgumentTypeError, match="a variant is fp32 or bf16"):
        load("train_step_speed").parse_variant(variant)


def test_step_speed_times_a_real_training_iteration():
    """``time_it`` runs the D and G steps it times: both models' weights move, the time is positive
    and the CUDA peak memory is nan on a CPU."""
    bench = load("train_step_speed")
    torch.manual_seed(0)
    gen, disc = CodecForward(DAC.from_preset("tiny")), Discriminator.from_preset("tiny")
    before = [p.detach().clone() for p in (*gen.parameters(), *disc.parameters())]
    seconds, peak = bench.time_it(
        gen, disc, bench.ours_forward, 0.1 * torch.randn(1, 1, 8192), steps=1, amp=False
    )
    after = list((*gen.parameters(), *disc.parameters()))
    assert seconds > 0 and math.isnan(peak)
    assert not torch.equal(before[0], after[0])  # the generator's first weight
    assert not torch.equal(before[-1], after[-1])  # the discriminator's last weight


def test_the_fused_snake_gives_a_training_step_the_same_gradients():
    """One G step of the tiny preset (mel, VQ and GAN losses) with every Snake fused (the default)
    and unfused (autograd through eq. (1)'s operators): gradients equal to float rounding."""
    bench = load("train_step_speed")
    torch.manual_seed(1)
    x = 0.1 * torch.randn(2, 1, 8192)
    assert bench.gradient_difference("tiny", x) < 1e-5
    fused = bench.generator_gradients("tiny", x, True, gan=False)
    assert any(n.endswith("alpha") for n in fused)  # Snake's α gets its gradient too


def test_step_speed_without_a_discriminator_trains_the_generator_alone():
    """``--no-gan`` (``disc=None``): the G step on the mel and VQ losses alone, as before the tiny
    recipe's gan_start."""
    bench = load("train_step_speed")
    torch.manual_seed(0)
    gen = CodecForward(DAC.from_preset("tiny"))
    before = next(gen.parameters()).detach().clone()
    seconds, _ = bench.time_it(
        gen, None, bench.ours_forward, 0.1 * torch.randn(1, 1, 8192), steps=1, amp=False
    )
    assert seconds > 0 and not torch.equal(before, next(gen.parameters()))


def test_step_speed_times_other_presets_only_without_the_official_side(monkeypatch, capsys):
    bench = load("train_step_speed")
    monkeypatch.setattr("sys.argv", ["train_step_speed.py", "--preset", "tiny"])
    with pytest.raises(SystemExit):
        bench.main()
    assert "the official side is the 44.1 kHz model; add --no-official" in capsys.readouterr().err


def test_protocol_alternates_the_variants_after_one_warm_up_each():
    protocol = load("protocol")
    calls = []
    variants = {name: (lambda name=name: calls.append(name)) for name in "AB"}
    timings = protocol.alternate(variants, runs=3)
    assert calls == ["A", "B"] + ["A", "B"] * 3  # warm-ups, then A B A B A B
    assert [t.name for t in timings] == ["A", "B"] and all(len(t.runs) == 3 for t in timings)
    low, high = timings[0].spread
    assert low <= timings[0].median <= high


def test_protocol_refuses_ratios_on_a_busy_machine(capsys):
    protocol = load("protocol")
    timings = [protocol.Timing("ref", 1.0, [2.0, 2.0, 2.0]), protocol.Timing("new", 1.0, [1.0] * 3)]
    assert protocol.report(timings, "ref", threads=2, load_before=1.5, load_after=1.9) == {
        "ref": 1.0,
        "new": 2.0,
    }
    assert protocol.report(timings, "ref", threads=2, load_before=3.2, load_after=3.0) is None
    out = capsys.readouterr().out
    assert "load average 3.2 before" in out and "no ratios" in out
    with pytest.raises(ValueError, match="runs"):
        protocol.alternate({"A": lambda: None}, runs=0)


def test_step_speed_alternates_its_variants(monkeypatch, capsys):
    """The script end to end on the tiny preset: two variants, alternated, with a verdict."""
    bench = load("train_step_speed")
    argv = ["train_step_speed.py", "--no-official", "--preset", "tiny", "--batch-size", "3"]
    argv += [
        "--duration",
        "0.1",
        "--steps",
        "1",
        "--threads",
        "1",
        "--ours",
        "fp32+unfused",
        "fp32",
    ]
    monkeypatch.setattr("sys.argv", argv)
    bench.main()
    out = capsys.readouterr().out
    assert "dac-minimal tiny (fp32) " in out and "dac-minimal tiny (fp32+unfused) " in out
    assert "load average" in out and "compilation" not in out  # neither variant compiles
    assert "speed-up" in out or "no ratios" in out
