"""The trainer: exact resume, a clear stop on NaN, atomic checkpoints, early data errors, the CLI,
SIGKILL recovery and (on CPU, gloo) two-process DistributedDataParallel.

Every run is the tiny codec on 3 excerpts of 0.05 s, one torch thread, a handful of steps.
"""

import hashlib
import math
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import dac_minimal.train as T
from dac_minimal import DAC, Discriminator
from dac_minimal.data import AudioFolder, DataConfig, ensure_toy_corpus
from dac_minimal.layers import Snake

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "chapters"))
import book  # noqa: E402 (chapters/book.py: the book's paths and codec)

LOSSES = (
    "discriminator",
    "mel",
    "feature",
    "adversarial",
    "codebook",
    "commitment",
    "generator",
    "grad_norm_d",
    "grad_norm_g",
    "lr",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return ensure_toy_corpus(
        tmp_path_factory.mktemp("toy"), n_per_domain=1, n_valid_per_domain=1, seconds=0.5
    )


def config(corpus, out, **kw) -> T.TrainConfig:
    base = dict(
        preset="tiny",
        data=str(corpus.train),
        out=str(out),
        steps=2,
        batch_size=3,
        duration=0.05,
        val_duration=0.05,
        val_clips_per_domain=1,
        log_every=1,
        val_every=0,
        sample_every=0,
        ckpt_every=2,
        progress=False,
        tensorboard=False,
        threads=1,
        device="cpu",
        gan_start=0,
    )  # the full GAN step
    return T.TrainConfig(**{**base, **kw})


def rows(run: Path) -> dict[str, np.ndarray]:
    return T.read_csv(run / "metrics.csv")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_resume_continues_exactly(corpus, tmp_path):
    straight = T.train(config(corpus, tmp_path / "a", steps=3))
    T.train(config(corpus, tmp_path / "b", steps=1))
    resumed = T.train(config(corpus, tmp_path / "b", steps=3, resume=True))
    a, b = rows(tmp_path / "a"), rows(tmp_path / "b")
    np.testing.assert_array_equal(b["step"], [1, 2, 3])  # no duplicated or missing rows
    for name in LOSSES:
        np.testing.assert_allclose(b[name], a[name], rtol=0, atol=1e-6, err_msg=name)
    for p, q in zip(
        straight.generator.state_dict().values(), resumed.generator.state_dict().values()
    ):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_resume_is_exact_across_dead_code_revival_windows(corpus, tmp_path):
    # Revival every 2 steps; the run is cut at step 3, mid-window: the usage counts must travel.
    # (The exponential schedule: the linear one depends on `steps`, which differs between the two
    # segments.)
    kw = dict(revive_every=2, lr_schedule="exponential")
    straight = T.train(config(corpus, tmp_path / "a", steps=5, ckpt_every=5, **kw))
    T.train(config(corpus, tmp_path / "b", steps=3, ckpt_every=3, **kw))
    resumed = T.train(config(corpus, tmp_path / "b", steps=5, ckpt_every=5, resume=True, **kw))
    assert (
        straight.reviver.n_revived > 0 and resumed.reviver.n_revived == straight.reviver.n_revived
    )
    for p, q in zip(
        straight.generator.state_dict().values(), resumed.generator.state_dict().values()
    ):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_linear_schedule_warms_up_holds_falls_to_zero_and_is_recomputed_on_resume(corpus, tmp_path):
    lr = 1e-3
    line = dict(lr=lr, lr_schedule="linear", lr_decay_from=0.0, warmup=2)
    T.train(config(corpus, tmp_path / "a", steps=4, **line))
    np.testing.assert_allclose(
        rows(tmp_path / "a")["lr"], [lr / 2, lr * 3 / 4, lr / 2, lr / 4], rtol=1e-6
    )
    # Stopped at step 2 of a 2-step run, then resumed to 4 steps: steps 3 and 4 follow the 4-step
    # line.
    T.train(config(corpus, tmp_path / "b", steps=2, **line))
    T.train(config(corpus, tmp_path / "b", steps=4, resume=True, **line))
    np.testing.assert_allclose(rows(tmp_path / "b")["lr"][2:], [lr / 2, lr / 4], rtol=1e-6)
    # Held for the first half, then down: 1, 1, then 2/2 and 1/2 of the way from the start of the
    # fall.
    T.train(config(corpus, tmp_path / "c", steps=4, lr=lr, lr_schedule="linear", lr_decay_from=0.5))
    np.testing.assert_allclose(rows(tmp_path / "c")["lr"], [lr, lr, lr, lr / 2], rtol=1e-6)
    with pytest.raises(ValueError, match="lr_schedule"):
        T.TrainConfig(lr_schedule="cosine")
    with pytest.raises(ValueError, match="lr_decay_from"):
        T.TrainConfig(lr_decay_from=1.0)


def test_compile_snake_trains_the_same_codec(corpus, tmp_path):
    assert (
        T.TrainConfig(compile=True).compile == "full"
        and T.TrainConfig(compile=False).compile == "off"
    )
    with pytest.raises(ValueError, match="unknown compile mode"):
        T.TrainConfig(compile="fast")
    assert [T.parse_args(a).compile for a in ([], ["--compile"], ["--compile", "snake"])] == [
        "off",
        "full",
        "snake",
    ]
    T.train(config(corpus, tmp_path / "eager"))
    fused = T.train(config(corpus, tmp_path / "fused", compile="snake"))
    snakes = [m for m in fused.generator.modules() if isinstance(m, Snake)]
    assert snakes and all(m.compiled for m in snakes)
    for (
        name
    ) in LOSSES:  # float rounding differs; Adam's first step magnifies it in step 2's gradient norm
        np.testing.assert_allclose(
            rows(tmp_path / "fused")[name], rows(tmp_path / "eager")[name], rtol=5e-3, err_msg=name
        )


def test_presets_take_their_recipe_unless_told_otherwise():
    tiny, full = T.TrainConfig(preset="tiny"), T.TrainConfig(preset="44khz")
    fields = tuple(T.RECIPES["cpu"])
    assert tuple(getattr(tiny, f) for f in fields) == tuple(T.RECIPES["cpu"].values())
    assert tuple(getattr(full, f) for f in fields) == (
        1e-4,
        0,
        0,
        "exponential",
        0.0,
    )  # the paper's recipe
    assert T.TrainConfig(preset="tiny", lr=3e-4, gan_start=0).lr == 3e-4
    assert T.parse_args(["--preset", "44khz", "--revive-every", "10"]).revive_every == 10
    assert T.parse_args(["--preset", "tiny"]).gan_start == T.RECIPES["cpu"]["gan_start"]


def test_every_config_field_is_an_option_made_from_its_type_and_help():
    assert T.parse_args([]) == T.TrainConfig()  # every default reaches the config unchanged
    cfg = T.parse_args(
        ["--betas", "0.5", "0.9", "--amp", "--no-progress", "--no-tensorboard", "--resume"]
        + ["--loudness-db", "-16", "--threads", "2", "--valid-data", "v", "--grad-clip-g", "5"]
    )
    assert cfg.betas == (0.5, 0.9) and cfg.amp and cfg.resume
    assert not cfg.progress and not cfg.tensorboard
    assert (cfg.loudness_db, cfg.threads, cfg.valid_data, cfg.grad_clip_g) == (-16.0, 2, "v", 5.0)
    text = subprocess.run(
        [sys.executable, "-m", "dac_minimal.train", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    text = " ".join(text.split())  # argparse wraps the help text
    for f in T.fields(T.TrainConfig):
        flag = f.name.replace("_", "-")
        assert f"--{flag}" in text or f"--no-{flag}" in text, f.name
        assert f.metadata["help"], f.name
    assert "the preset's recipe, 0.0001; tiny 0.001" in text  # the lr names both recipes' values


def test_gan_start_trains_only_the_codec_before_it(corpus, tmp_path):
    trainer = T.Trainer(config(corpus, tmp_path / "r", steps=3, gan_start=3))
    disc0 = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    batches = trainer.batches()
    for _ in range(2):
        step, batch = next(batches)
        log = trainer.train_step(step, batch)
        assert (
            log["discriminator"]
            == log["feature"]
            == log["adversarial"]
            == log["grad_norm_d"]
            == 0.0
        )
        assert log["mel"] > 0 and log["generator"] > 0
    for k, v in trainer.discriminator.state_dict().items():
        torch.testing.assert_close(v, disc0[k], rtol=0, atol=0)  # D untouched before gan_start
    step, batch = next(batches)
    log = trainer.train_step(step, batch)
    assert step == 3 and log["discriminator"] > 0 and log["grad_norm_d"] > 0 and log["feature"] > 0
    changed = [not torch.equal(v, disc0[k]) for k, v in trainer.discriminator.state_dict().items()]
    assert any(changed)  # from gan_start on, the discriminator trains


def test_checkpoint_holds_only_plain_types_and_loads_safely(corpus, tmp_path):
    trainer = T.train(config(corpus, tmp_path, steps=1, ckpt_every=1))
    ckpt = T.load_checkpoint(tmp_path / "latest.pt")  # weights_only=True inside
    assert ckpt["step"] == 1 and ckpt["data"] == {"seed": 0, "next_step": 2}
    assert set(ckpt["rng"][0]) == {"python", "numpy", "torch", "cuda"}
    assert ckpt["config"]["batch_size"] == 3 and ckpt["model_config"]["encoder_dim"] == 8
    for key in ("model", "discriminator", "opt_g", "opt_d", "sched_g", "sched_d"):
        assert ckpt[key], key
    torch.testing.assert_close(ckpt["model"], trainer.generator.state_dict(), rtol=0, atol=0)
    # The RNG round trip restores every generator.
    T.set_rng_state(ckpt["rng"][0])
    draws = (np.random.rand(), torch.rand(1).item(), __import__("random").random())
    T.set_rng_state(ckpt["rng"][0])
    assert (np.random.rand(), torch.rand(1).item(), __import__("random").random()) == draws
    assert DAC.load(tmp_path / "model.pt").config == trainer.generator.config


def test_nan_stops_naming_step_and_term_and_keeps_last_checkpoint(corpus, tmp_path, monkeypatch):
    trainer = T.train(config(corpus, tmp_path, steps=1))
    latest = tmp_path / "latest.pt"
    before = sha(latest)
    g_before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    monkeypatch.setattr(T, "feature_matching_loss", lambda *a: torch.tensor(float("nan")))
    trainer.cfg = replace(trainer.cfg, steps=3)
    with pytest.raises(T.NonFiniteLossError, match=r"step 2: non-finite loss \(feature = nan\)"):
        trainer.fit()
    assert sha(latest) == before and T.load_checkpoint(latest)["step"] == 1
    for k, v in trainer.generator.state_dict().items():  # the generator never stepped on the NaN
        torch.testing.assert_close(v, g_before[k], rtol=0, atol=0)
    assert rows(tmp_path)["step"].max() == 1


@pytest.mark.parametrize("side", ["discriminator", "generator"])
def test_a_non_finite_gradient_with_finite_losses_stops_before_the_update(corpus, tmp_path, side):
    trainer = T.Trainer(config(corpus, tmp_path))
    module = trainer.discriminator if side == "discriminator" else trainer.generator
    before = {k: v.clone() for k, v in module.state_dict().items()}
    next(module.parameters()).register_hook(lambda g: g * float("nan"))
    with pytest.raises(
        T.NonFiniteLossError, match=rf"step 1: non-finite gradient norm \({side} = nan\)"
    ):
        trainer.train_step(1, next(trainer.batches())[1])
    for k, v in module.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


class _ReadBacks(torch.overrides.TorchFunctionMode):
    """Records the tensor methods that hand a value to Python (on a GPU, each waits for the device),
    except inside ``torch.optim``, whose ``.item()`` reads AdamW's step counters, which stay on the
    CPU."""

    READS = {
        torch.Tensor.item,
        torch.Tensor.tolist,
        torch.Tensor.__bool__,
        torch.Tensor.__float__,
        torch.Tensor.__int__,
        torch.Tensor.numpy,
        torch.Tensor.cpu,
    }

    def __init__(self):
        super().__init__()
        self.reads: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.READS:
            stack = traceback.extract_stack()[:-1]
            if not any(f"torch{os.sep}optim{os.sep}" in frame.filename for frame in stack):
                self.reads.append(f"{func.__name__} at {stack[-1].filename}:{stack[-1].lineno}")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("accum", [1, 2])
def test_an_iteration_reads_values_back_once_per_side(corpus, tmp_path, accum):
    # Each read-back stalls a GPU step that is bound by launching kernels: the D and G checks only,
    # none from the modules' own NaN scans of the audio (skipped inside the trainer's step).
    trainer = T.Trainer(config(corpus, tmp_path, accum=accum, revive_every=0))
    step, batches = next(trainer.batches())
    with _ReadBacks() as mode:
        logs = trainer.train_step(step, batches)
    assert len(mode.reads) == 2, mode.reads
    assert all(math.isfinite(v) and v > 0 for k, v in logs.items() if k not in ("lr",)), logs
    with pytest.raises(ValueError, match="NaN or infinite"):  # outside the step the scans are back
        trainer.generator(torch.full((1, 1, 1024), float("nan")))


def test_a_crash_while_saving_leaves_the_previous_checkpoint_loadable(
    corpus, tmp_path, monkeypatch
):
    trainer = T.Trainer(config(corpus, tmp_path))
    trainer.save()
    latest = tmp_path / "latest.pt"
    good = sha(latest)

    def crash(obj, f, *a, **k):
        Path(f).write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(T.torch, "save", crash)
    trainer.step = 7
    with pytest.raises(OSError, match="disk full"):
        trainer.save()
    assert sha(latest) == good and T.load_checkpoint(latest)["step"] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_smoke_run_writes_logs_samples_and_checkpoints(corpus, tmp_path):
    run = tmp_path / "run"
    code = T.main(
        [
            "--data",
            str(corpus.train),
            "--out",
            str(run),
            "--steps",
            "2",
            "--batch-size",
            "3",
            "--duration",
            "0.05",
            "--val-duration",
            "0.05",
            "--val-clips-per-domain",
            "1",
            "--log-every",
            "1",
            "--val-every",
            "1",
            "--sample-every",
            "2",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--no-progress",
            "--no-tensorboard",
        ]
    )
    assert code == 0
    m = rows(run)
    np.testing.assert_array_equal(m["step"], [1, 2])
    assert set(T.METRIC_FIELDS) == set(m) and np.isfinite(np.stack(list(m.values()))).all()
    # The logged generator loss is the weighted sum of its terms (LOSS_WEIGHTS).
    w = T.LOSS_WEIGHTS
    total = sum(getattr(w, t) * m[t] for t in T.LOSS_TERMS)
    np.testing.assert_allclose(m["generator"], total, rtol=1e-5)
    lr = T.RECIPES["cpu"]["lr"]  # the tiny preset's default recipe
    np.testing.assert_allclose(m["lr"], [lr, lr])  # held for the first 3/4 of the steps (1.5 of 2)
    val = T.read_csv(run / "val.csv")
    np.testing.assert_array_equal(val["step"], [0, 1, 2])
    assert T.load_checkpoint(run / "latest.pt")["step"] == 2
    assert (run / "best.pt").is_file() and (run / "samples" / "step_0000002.png").is_file()
    assert sf.info(str(run / "samples" / "step_0000002.wav")).frames == 2205
    # A second run into the same folder must not overwrite it silently.
    assert (
        T.main(
            ["--data", str(corpus.train), "--out", str(run), "--steps", "1", "--duration", "0.1"]
        )
        == 1
    )


def test_validation_is_the_mel_distance_of_eval_mode_reconstructions(corpus, tmp_path):
    trainer = T.Trainer(config(corpus, tmp_path))
    model = trainer.generator.eval()
    with torch.no_grad():  # the independent computation: DAC.forward in eval mode, all codebooks
        y = model(trainer.val_audio).audio
        expected = trainer.mel(y, trainer.val_audio).item()
    assert trainer.validate() == pytest.approx(expected, rel=1e-6)
    assert trainer.val_audio.shape == (3, 1, 2205)


def test_data_problems_fail_before_the_first_step(corpus, tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(T.DAC, "from_preset", lambda *a, **k: built.append(1))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no audio files"):
        T.Trainer(config(corpus, tmp_path / "r1", data=str(empty)))
    short = tmp_path / "short"
    for d in ("speech", "music", "general"):
        (short / d).mkdir(parents=True)
        sf.write(short / d / "a.wav", np.full(882, 0.1, np.float32), 44100)  # 0.02 s
    with pytest.raises(ValueError, match="shorter than the excerpt"):
        T.Trainer(config(corpus, tmp_path / "r2", data=str(short)))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.wav").write_bytes(b"RIFF not really audio")
    with (
        pytest.warns(UserWarning, match="skipping"),
        pytest.raises(ValueError, match="no usable audio file"),
    ):
        T.Trainer(config(corpus, tmp_path / "r3", data=str(broken)))
    with pytest.raises(ValueError, match="multiple of the number of domains"):
        T.Trainer(config(corpus, tmp_path / "r4", batch_size=4))
    with pytest.raises(ValueError, match="data folder not found"):
        T.Trainer(config(corpus, tmp_path / "r5", data=str(tmp_path / "nowhere")))
    with pytest.raises(ValueError, match="no checkpoint"):
        T.Trainer(config(corpus, tmp_path / "r6", resume=True))
    assert built == []  # no model was built for any of them
    with pytest.raises(ValueError, match="at least 1025 samples"):
        T.TrainConfig(duration=0.02)
    with pytest.raises(ValueError, match="unknown preset"):
        T.TrainConfig(preset="huge")


def test_batches_are_a_function_of_seed_rank_and_step(corpus):
    folder = AudioFolder(corpus.train, DataConfig(duration=0.1))
    a = T.draw_batch(folder, 3, seed=0, rank=0, step=5)
    assert a.shape == (3, 1, 4410) and a.dtype == torch.float32
    assert torch.equal(a, T.draw_batch(folder, 3, seed=0, rank=0, step=5))
    assert not torch.equal(a, T.draw_batch(folder, 3, seed=0, rank=1, step=5))
    assert not torch.equal(a, T.draw_batch(folder, 3, seed=0, rank=0, step=6))
    stream = iter(T.StepBatches(folder, 3, accum=2, seed=0, rank=0, start=5))
    step, batch = next(stream)
    assert step == 5 and batch.shape == (2, 3, 1, 4410) and torch.equal(batch[0], a)
    assert next(stream)[0] == 6


def test_codec_forward_keeps_the_quantizer_in_fp32_and_matches_dac(tiny):
    x = torch.randn(2, 1, 3000) * 0.1
    with torch.no_grad():
        ref, out = tiny(x), T.CodecForward(tiny)(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            amp = T.CodecForward(tiny)(x)
    for a, b in zip(ref, out):
        assert torch.equal(a, b)
    assert amp.z.dtype == torch.float32 and amp.commitment_loss.dtype == torch.float32
    assert amp.audio.dtype == torch.bfloat16  # the decoder did run under autocast


def test_init_from_a_model_file_or_a_training_checkpoint(corpus, tmp_path):
    torch.manual_seed(3)
    src = DAC.from_preset("tiny")
    src.save(tmp_path / "m.pt")
    trainer = T.Trainer(config(corpus, tmp_path / "r1", init_from=str(tmp_path / "m.pt")))
    torch.testing.assert_close(trainer.generator.state_dict(), src.state_dict(), rtol=0, atol=0)
    trainer.discriminator.load_state_dict(Discriminator.from_preset("tiny").state_dict())
    trainer.save()
    again = T.Trainer(config(corpus, tmp_path / "r2", init_from=str(tmp_path / "r1" / "latest.pt")))
    torch.testing.assert_close(
        again.discriminator.state_dict(), trainer.discriminator.state_dict(), rtol=0, atol=0
    )
    torch.testing.assert_close(again.generator.state_dict(), src.state_dict(), rtol=0, atol=0)
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="neither a DAC.save file"):
        T.load_generator_weights(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="does not match the model"):
        torch.save(
            {"format": T.MODEL_FORMAT, "state_dict": {"x": torch.zeros(1)}}, tmp_path / "bad.pt"
        )
        T.Trainer(config(corpus, tmp_path / "r3", init_from=str(tmp_path / "bad.pt")))


def test_single_process_without_world_size_takes_the_plain_path(corpus, tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = T.setup_distributed()
    assert info == T.DistInfo(0, 0, 1) and not info.enabled and info.is_main
    trainer = T.Trainer(config(corpus, tmp_path))
    assert isinstance(trainer.G, T.CodecForward) and trainer.D is trainer.discriminator
    assert not torch.distributed.is_initialized()


def test_sigkill_mid_run_then_resume_loses_at_most_the_steps_since_the_checkpoint(corpus, tmp_path):
    run = tmp_path / "run"
    args = [
        "--data",
        str(corpus.train),
        "--out",
        str(run),
        "--batch-size",
        "3",
        "--duration",
        "0.05",
        "--val-duration",
        "0.05",
        "--val-clips-per-domain",
        "1",
        "--log-every",
        "1",
        "--val-every",
        "0",
        "--sample-every",
        "0",
        "--ckpt-every",
        "1",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--no-progress",
        "--no-tensorboard",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dac_minimal.train", *args, "--steps", "1000"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while (
            not (run / "latest.pt").exists() and proc.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(0.5)  # into the next steps, maybe into the next checkpoint write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = int(rows(run)["step"].max())
    saved = T.load_checkpoint(run / "latest.pt")["step"]  # whole, never half-written
    assert 0 < saved <= killed_at <= saved + 1  # a checkpoint every step: at most one step lost
    (run / ".latest.pt.killedwrite.tmp").write_bytes(
        b"half"
    )  # as if the kill hit a checkpoint write
    assert T.main([*args, "--steps", str(saved + 1), "--resume"]) == 0
    np.testing.assert_array_equal(rows(run)["step"], np.arange(1, saved + 2))
    assert T.load_checkpoint(run / "latest.pt")["step"] == saved + 1
    assert not [
        p for p in run.iterdir() if p.name.endswith(".tmp")
    ]  # a temp file of a killed write is removed


def _ddp_worker(rank: int, world: int, port: int, corpus_train: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    cfg = T.TrainConfig(
        data=corpus_train,
        out=out,
        steps=2,
        batch_size=3,
        duration=0.05,
        val_duration=0.05,
        val_clips_per_domain=1,
        log_every=1,
        val_every=0,
        sample_every=0,
        ckpt_every=2,
        progress=False,
        tensorboard=False,
        device="cpu",
        revive_every=1,
        gan_start=0,
    )
    info = T.setup_distributed()
    try:
        trainer = T.Trainer(cfg, info)
        assert isinstance(trainer.G, torch.nn.parallel.DistributedDataParallel)
        first = trainer.train_step(1, next(trainer.batches())[1])
        assert (
            trainer.reviver.n_revived > 0
        )  # dead-code revival ran (all-reduced counts, rank 0's entries)
        trainer.step = 1
        trainer.save()
        if (
            rank == 1
        ):  # a NaN on one rank must stop both, or rank 0 would wait forever in the next all-reduce
            T.feature_matching_loss = lambda *a: torch.tensor(float("nan"))
        try:
            trainer.train_step(2, next(trainer.batches())[1])
            message = "no error"
        except T.NonFiniteLossError as err:
            message = str(err)
        torch.save(
            {
                "model": trainer.generator.state_dict(),
                "disc": trainer.discriminator.state_dict(),
                "mel": first["mel"],
                "message": message,
            },
            Path(out) / f"rank{rank}.pt",
        )
    finally:
        torch.distributed.destroy_process_group()


def test_ddp_on_cpu_with_gloo_keeps_ranks_in_sync(corpus, tmp_path):
    port = 29500 + os.getpid() % 1000
    # fork, not spawn: the children reuse the imported torch instead of importing it again (seconds
    # each)
    torch.multiprocessing.start_processes(
        _ddp_worker, args=(2, port, str(corpus.train), str(tmp_path)), nprocs=2, start_method="fork"
    )
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["mel"] != r1["mel"]  # each rank trained on its own excerpts...
    for key in ("model", "disc"):  # ...and the all-reduced gradients left identical weights
        torch.testing.assert_close(r0[key], r1[key], rtol=0, atol=0)
    assert r1["message"].startswith("step 2: non-finite loss (feature = nan)")
    assert r0["message"].startswith("step 2: non-finite loss or gradient norm (in another process)")
    ckpt = T.load_checkpoint(tmp_path / "latest.pt")
    assert ckpt["step"] == 1 and len(ckpt["rng"]) == 2  # rank 0 wrote it, with every rank's RNG
    assert not torch.equal(ckpt["rng"][0]["torch"], ckpt["rng"][1]["torch"])


def test_gradient_accumulation_matches_one_big_batch(corpus, tmp_path):
    # Without quantizer dropout the forward pass is deterministic, and every loss is a mean over
    # equal micro-batches, so 2 x 3 accumulated excerpts must give the gradients of one batch of 6.
    kw = dict(quantizer_dropout=0.0, ckpt_every=0)
    acc = T.Trainer(config(corpus, tmp_path / "acc", batch_size=3, accum=2, **kw))
    big = T.Trainer(config(corpus, tmp_path / "big", batch_size=6, **kw))
    micro = torch.stack([T.draw_batch(acc.data, 3, 0, 0, 1, m) for m in range(2)])
    a = acc.train_step(1, micro)
    b = big.train_step(1, micro.reshape(1, 6, 1, -1))
    for name in LOSSES:
        assert a[name] == pytest.approx(b[name], rel=1e-5), name
    for module in ("generator", "discriminator"):
        for (name, p), q in zip(
            getattr(acc, module).named_parameters(), getattr(big, module).parameters()
        ):
            # float sums in another order: compare each tensor's error with its largest entry
            assert (p.grad - q.grad).abs().max() <= 1e-4 * q.grad.abs().max(), name


def test_dataloader_workers_keep_the_step_order(corpus):
    folder = AudioFolder(corpus.train, DataConfig(duration=0.05))
    data = T.StepBatches(folder, 3, accum=1, seed=0, rank=0, start=1)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    got = [b for _, b in zip(range(4), loader)]
    assert [step for step, _ in got] == [1, 2, 3, 4]
    for step, batch in got:
        assert torch.equal(batch[0], T.draw_batch(folder, 3, 0, 0, step))


def test_tensorboard_gets_the_same_scalars_when_installed(corpus, tmp_path, monkeypatch):
    import types

    written = []

    class Writer:
        def __init__(self, log_dir):
            written.append(("dir", log_dir))

        def add_scalar(self, tag, value, step):
            written.append((tag, value, step))

        def flush(self):
            pass

    monkeypatch.setitem(
        sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer)
    )
    T.train(config(corpus, tmp_path, steps=1, val_every=1, tensorboard=True))
    assert written[0] == ("dir", str(tmp_path / "tb"))
    m, val = rows(tmp_path), T.read_csv(tmp_path / "val.csv")
    assert ("train/mel", m["mel"][0], 1) in [(t, pytest.approx(v), s) for t, v, s in written[1:]]
    assert ("valid/mel_distance", val["mel_distance"][-1], 1) in [
        (t, pytest.approx(v), s) for t, v, s in written[1:]
    ]


def test_ckpt_every_zero_writes_no_checkpoint(corpus, tmp_path):
    T.train(config(corpus, tmp_path, steps=1, ckpt_every=0))
    assert not (tmp_path / "latest.pt").exists() and (tmp_path / "model.pt").is_file()


def test_book_codec_loads_the_given_model_or_trains_a_stand_in(tmp_path):
    saved = DAC.from_preset("tiny")
    saved.save(tmp_path / "tiny.pt")
    model, source = book.book_codec(path=tmp_path / "tiny.pt")
    assert str(tmp_path / "tiny.pt") in source and not model.training
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), saved.state_dict().values())
    )
    model, source = book.book_codec(stand_in_steps=1, path=tmp_path / "missing.pt")
    assert "stand-in trained for 1 steps" in source and isinstance(model, DAC)


def test_book_codec_prefers_the_committed_reference_model(tmp_path, monkeypatch):
    reference, chapter8 = DAC.from_preset("tiny"), DAC.from_preset("tiny")
    reference.save(tmp_path / "ref.pt")
    chapter8.save(tmp_path / "ch8.pt")
    monkeypatch.setattr(book, "REFERENCE_CODEC", tmp_path / "ref.pt")
    monkeypatch.setattr(book, "BOOK_CODEC", tmp_path / "ch8.pt")
    model, source = book.book_codec()
    assert source.startswith("the 15-minute reference model")
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), reference.state_dict().values())
    )
    (tmp_path / "ref.pt").unlink()
    assert book.book_codec()[1].startswith("chapter 8's model")


def test_the_committed_reference_model_loads_and_is_the_tiny_preset():
    model, source = book.book_codec()
    assert book.REFERENCE_CODEC.is_file(), "benchmarks/reference_curves/tiny_15min.pt is missing"
    assert (
        source.startswith("the 15-minute reference model")
        and model.config == DAC.from_preset("tiny").config
    )
