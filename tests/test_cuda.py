"""The CUDA paths: the codec on a GPU against the CPU, bf16 autocast with the quantizer kept in
fp32, the trainer with ``--amp`` (and its checkpoints read back on the CPU), and chunked compression
of a file on a GPU.

Skipped where no CUDA device is present (CI has none); ``benchmarks/gpu_checks.sh`` runs them on a
GPU machine.
"""

import copy

import numpy as np
import pytest
import soundfile as sf
import torch

import dac_minimal.train as T
from dac_minimal import DAC
from dac_minimal.data import ensure_toy_corpus
from dac_minimal.layers import Snake

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def no_tf32():
    """Full fp32 convolutions and matmuls (cuDNN would use TF32, 10 mantissa bits, by default)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def signal(seconds: float = 0.5, sr: int = 44100) -> torch.Tensor:
    t = torch.arange(int(seconds * sr)) / sr
    torch.manual_seed(1)
    return (0.3 * torch.sin(2 * torch.pi * 220 * t) + 0.05 * torch.randn_like(t))[None, None]


def test_the_codec_on_cuda_agrees_with_the_cpu(tiny, no_tf32):
    gpu = copy.deepcopy(tiny).cuda()
    x = signal()
    with torch.no_grad():
        cpu_out, gpu_out = tiny.encode(x), gpu.encode(x.cuda())
        same = (cpu_out.codes == gpu_out.codes.cpu()).float().mean().item()
        assert same > 0.99, (
            f"only {same:.1%} of the codes agree"
        )  # a near-tie may flip; most must not
        torch.testing.assert_close(gpu_out.z.cpu(), cpu_out.z, rtol=1e-4, atol=1e-4)
        audio_cpu, audio_gpu = (
            tiny.decode_codes(cpu_out.codes),
            gpu.decode_codes(cpu_out.codes.cuda()),
        )
    torch.testing.assert_close(audio_gpu.cpu(), audio_cpu, rtol=1e-4, atol=1e-4)


def test_bf16_autocast_keeps_the_quantizer_in_fp32_on_cuda(tiny):
    model = copy.deepcopy(tiny).cuda().train()
    x = signal().cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = T.CodecForward(model)(x)
    assert out.audio.dtype == torch.bfloat16  # the decoder ran in bf16...
    assert (
        out.z.dtype == torch.float32 and out.codebook_loss.dtype == torch.float32
    )  # ...the quantizer did not
    loss = (out.audio.float() - x).abs().mean() + out.commitment_loss + out.codebook_loss
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_the_trainer_with_amp_on_cuda_runs_resumes_and_saves_cpu_loadable_checkpoints(tmp_path):
    corpus = ensure_toy_corpus(tmp_path / "toy", n_per_domain=1, n_valid_per_domain=1, seconds=0.5)
    cfg = T.TrainConfig(
        preset="tiny",
        data=str(corpus.train),
        out=str(tmp_path / "run"),
        steps=3,
        batch_size=3,
        duration=0.1,
        val_duration=0.1,
        val_clips_per_domain=1,
        log_every=1,
        val_every=3,
        sample_every=0,
        ckpt_every=3,
        progress=False,
        tensorboard=False,
        device="cuda",
        amp=True,
        gan_start=2,
        revive_every=2,
        compile="snake",
    )
    trainer = T.train(cfg)
    assert trainer.amp and trainer.device.type == "cuda"
    assert all(m.compiled for m in trainer.generator.modules() if isinstance(m, Snake))
    rows = T.read_csv(tmp_path / "run" / "metrics.csv")
    np.testing.assert_array_equal(rows["step"], [1, 2, 3])
    assert (
        rows["discriminator"][0] == 0 and rows["discriminator"][2] > 0
    )  # the GAN joined at step 2
    for name in ("mel", "codebook", "commitment", "generator", "grad_norm_g"):
        assert np.isfinite(rows[name]).all(), name
    ckpt = T.load_checkpoint(tmp_path / "run" / "latest.pt")  # loads on the CPU
    assert ckpt["step"] == 3 and "cuda" in ckpt["rng"][0]
    resumed = T.train(T.TrainConfig(**{**cfg.__dict__, "steps": 5, "resume": True}))
    np.testing.assert_array_equal(
        T.read_csv(tmp_path / "run" / "metrics.csv")["step"], [1, 2, 3, 4, 5]
    )
    assert resumed.step == 5
    model = DAC.load(tmp_path / "run" / "model.pt")  # the exported codec, on the CPU
    assert next(model.parameters()).device.type == "cpu"


def test_a_training_step_on_cuda_waits_for_the_gpu_only_in_its_two_checks(tmp_path):
    # The CPU test (tests/test_train.py) sees the values read back from Python; CUDA's sync debug
    # mode also sees the implicit waits (nonzero, boolean indexing, copies to the host). Every wait
    # attributed to our code must be one of the two checks (``check_finite``: one per side).
    import inspect
    import warnings

    corpus = ensure_toy_corpus(tmp_path / "toy", n_per_domain=1, n_valid_per_domain=1, seconds=0.5)
    cfg = T.TrainConfig(
        preset="tiny",
        data=str(corpus.train),
        out=str(tmp_path / "run"),
        steps=3,
        batch_size=3,
        duration=0.1,
        val_duration=0.1,
        val_clips_per_domain=1,
        log_every=0,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
        device="cuda",
        amp=True,
        gan_start=0,
        revive_every=0,
    )
    trainer = T.Trainer(cfg)
    batches = trainer.batches()
    trainer.train_step(*next(batches))  # warm-up: first-call allocations and lazy initialisation
    step, batch = next(batches)
    source, first = inspect.getsourcelines(T.check_finite)
    check_lines = {first + i for i, line in enumerate(source) if ".tolist()" in line}
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.train_step(step, batch)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [(w.filename, w.lineno) for w in caught if "synchroniz" in str(w.message)]
    ours = [(f, n) for f, n in syncs if "dac_minimal" in f]
    assert ours and all(f.endswith("train.py") and n in check_lines for f, n in ours), syncs


def test_chunked_compression_of_a_stereo_file_on_cuda_matches_the_cpu(tiny, tmp_path, no_tf32):
    from dac_minimal.codec.dacm import compress, decompress

    path = tmp_path / "clip.wav"
    stereo = torch.cat([signal(3.0), 0.5 * signal(3.0)], dim=1)[0].T.numpy()  # (T, 2)
    sf.write(path, stereo, 44100)
    gpu = copy.deepcopy(tiny).cuda()
    on_gpu = compress(gpu, path, chunk_seconds=1.0)
    on_cpu = compress(tiny, path, chunk_seconds=1.0)
    assert on_gpu.codes.shape == on_cpu.codes.shape and on_gpu.channels == 2
    assert (on_gpu.codes == on_cpu.codes).float().mean() > 0.99
    on_gpu.save(tmp_path / "clip.dac")
    audio = decompress(gpu, tmp_path / "clip.dac", chunk_seconds=1.0)
    assert audio.shape == (
        2,
        stereo.shape[0],
    )  # decoded chunk by chunk on the GPU, returned on the CPU
    torch.testing.assert_close(
        audio, decompress(tiny, on_gpu, chunk_seconds=1.0), rtol=1e-4, atol=1e-4
    )
