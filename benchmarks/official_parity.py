"""Numerical parity with the official ``descript-audio-codec`` package, on one random checkpoint.

    python benchmarks/official_parity.py --setup  # once: a venv with the official package (~7 GB)
    python benchmarks/official_parity.py          # official checkpoint, compare, max differences

The official package needs torch 2.9.1 with torchaudio 2.9 (its audiotools dependency), which
cannot share a venv with our CPU torch, so it lives in its own venv (``--venv``, default
``~/.cache/dac_minimal/official-venv``) and runs in a subprocess. That process builds
``dac.DAC()`` with random weights (Snake α and codebooks randomised too), saves it the official
way (``model.save(path, package=False)``: ``state_dict`` + ``metadata.kwargs``, weight norm as
``weight_g``/``weight_v``) and writes its outputs for a fixed signal. This process loads the same
file with ``DAC.load`` and compares codes (must be identical) and audio (bar: max |difference|
<= 1e-4) for encode, decode and decoding from the first k codebooks. Not part of CI (the
official install is gigabytes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

DEFAULT_VENV = Path.home() / ".cache" / "dac_minimal" / "official-venv"
SUBSETS = (1, 4)

OFFICIAL_SIDE = r"""
import sys, numpy as np, torch, dac
ckpt, out, preset, subsets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
kwargs = {
    "44khz": {},
    "16khz": dict(
        sample_rate=16000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=12
    ),
}[preset]
torch.manual_seed(0)
model = dac.DAC(**kwargs)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("alpha"):
            p.uniform_(0.5, 2.0)
        if name.endswith("codebook.weight"):
            p.normal_()
model.eval()
model.save(ckpt, package=False)
sr = model.sample_rate
t = np.arange(sr + 123) / sr
rng = np.random.default_rng(0)
x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
x = x.astype(np.float32)[None, None]
with torch.no_grad():
    xp = model.preprocess(torch.from_numpy(x), sr)
    z, codes, latents, _, _ = model.encode(xp)
    res = {"x": x, "codes": codes.numpy(), "z": z.numpy(), "audio": model.decode(z).numpy()}
    for k in map(int, subsets.split(",")):
        res[f"audio_k{k}"] = model.decode(model.quantizer.from_codes(codes[:, :k])[0]).numpy()
np.savez(out, **res)
"""


def setup(venv: Path) -> None:
    """Create the official package's venv (CPU wheels where the platform offers them)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["torch==2.9.1", "torchaudio==2.9.*"], check=True)
    subprocess.run(pip + ["descript-audio-codec==1.0.0"], check=True)


def max_diff(ours: np.ndarray, official: np.ndarray, tail: int) -> float:
    """Max |difference| over the common length, minus ``tail`` samples at the end.

    The 16/24 kHz decoders have an odd stride; the official one returns 8 samples fewer than
    frames · hop and we add ``output_padding`` to keep the length, which changes only the last
    decoder receptive field's worth of samples.
    """
    n = min(ours.shape[-1], official.shape[-1]) - tail
    return float(np.abs(ours[..., :n] - official[..., :n]).max())


def compare(venv: Path, preset: str) -> dict[str, float]:
    from dac_minimal import DAC

    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(
            f"no official venv at {venv}: run `python {Path(__file__).name} --setup` first"
        )
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, out = Path(tmp) / "official.pth", Path(tmp) / "official.npz"
        subprocess.run(
            [
                str(python),
                "-c",
                OFFICIAL_SIDE,
                str(ckpt),
                str(out),
                preset,
                ",".join(map(str, SUBSETS)),
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        ref = dict(np.load(out))
        model = DAC.load(ckpt).eval()
    x = torch.from_numpy(ref["x"])
    tail = 0 if all(r % 2 == 0 for r in model.config.decoder_rates) else 2 * model.hop_length
    with torch.no_grad():
        enc = model.encode(x)
        results = {
            "codes differing": float((enc.codes.numpy() != ref["codes"]).sum()),
            "codes total": float(ref["codes"].size),
            "max |z - z_official|": float(np.abs(enc.z.numpy() - ref["z"]).max()),
            "max |decode - official|": max_diff(model.decode(enc.z).numpy(), ref["audio"], tail),
        }
        for k in SUBSETS:
            ours = model.decode_codes(torch.from_numpy(ref["codes"][:, :k])).numpy()
            results[f"max |decode_codes(k={k}) - official|"] = max_diff(
                ours, ref[f"audio_k{k}"], tail
            )
        results["samples excluded at the end (odd-stride decoders)"] = float(tail)
        # our public forward returns exactly the input length
        results["forward length == input length"] = float(model(x).audio.shape[-1] == x.shape[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument(
        "--setup", action="store_true", help="create the official venv, then compare"
    )
    parser.add_argument("--preset", choices=["44khz", "16khz"], default="44khz")
    args = parser.parse_args()
    if args.setup:
        setup(args.venv)
    torch.set_num_threads(2)
    results = compare(args.venv, args.preset)
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:{width}s}  {value:.3g}")
    audio_ok = all(v <= 1e-4 for k, v in results.items() if k.startswith("max |decode"))
    ok = (
        results["codes differing"] == 0
        and audio_ok
        and results["forward length == input length"] == 1.0
    )
    print("PARITY OK" if ok else "PARITY FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
