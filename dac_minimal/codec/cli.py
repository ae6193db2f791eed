"""Command line: compress audio files to ``.dacm``, decompress them, and describe them.

    python -m dac_minimal encode IN... --out DIR [--n-quantizers K] [--strict] --weights PATH|44khz
    python -m dac_minimal decode IN... --out DIR --weights PATH|44khz
    python -m dac_minimal info IN...

``encode`` and ``decode`` run the fast path by default: the model is prepared for inference
(``codec.inference``: the same codes and, to float rounding, the same audio), and its Snakes are
compiled when the inputs add up to enough audio to repay the compile time (``--compile auto``).
``--plain`` runs the model as trained instead.

Folders are searched recursively (audio files for ``encode``, ``.dacm`` files otherwise) and their
layout is kept under ``--out``; the files a folder holds but the command does not read get one
summary line per folder on stderr ("skipped 3 files: 2 .txt (not audio), 1 .m4a (needs ffmpeg)").
An input that cannot be read gets one line on stderr and the others are still processed; so does
a truncated file, which is encoded as far as it goes (``--strict`` refuses it instead). The exit
status is 1 if any input failed (2 for a usage error).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import soundfile as sf
from tqdm.auto import tqdm

from dac_minimal.codec.dacm import DEFAULT_CHUNK_SECONDS, FILE_SUFFIX, CompressedAudio
from dac_minimal.codec.inference import COMPILE_PAYS_FROM_SECONDS, can_compile
from dac_minimal.codec.official import OFFICIAL_WEIGHTS, download_official
from dac_minimal.model import DAC
from dac_minimal.utils.audio import (
    TruncatedAudioWarning,
    describe_skipped,
    list_audio,
    load_audio,
    save_audio,
)
from dac_minimal.utils.checks import check_n_quantizers

NEED_WEIGHTS = (
    "{command} needs model weights: pass --weights PATH, a checkpoint written by DAC.save (for "
    "example the tiny model trained in the book) or an official descript-audio-codec weights "
    "file, or --weights NAME to download the official ones "
    f"({', '.join(OFFICIAL_WEIGHTS)})."
)


def _list_folder(folder: Path, command: str) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files of ``folder`` that ``command`` reads, and the others with the reason."""
    if command == "encode":
        return list_audio(folder)
    files, skipped = list_audio(folder, extensions=(FILE_SUFFIX,))
    return files, [(p, f"not {FILE_SUFFIX}") for p, _ in skipped]


def find_inputs(paths: list[str], command: str) -> Iterator[tuple[Path, Path | None]]:
    """Yield ``(file, path relative to the output folder)``; ``None`` marks a missing input.

    Folders are searched recursively; what they hold but ``command`` does not read is summed up
    in one line per folder on stderr.
    """
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            files, skipped = _list_folder(path, command)
            if skipped:
                print(f"{path}: {describe_skipped(skipped)}", file=sys.stderr)
            for file in files:
                yield file, file.relative_to(path)
        elif path.is_file():
            yield path, Path(path.name)
        else:
            yield path, None


def load_model(weights: str | None, command: str, device: str) -> DAC:
    if weights is None:
        raise ValueError(NEED_WEIGHTS.format(command=command))
    path = Path(weights)
    if not path.exists() and weights in OFFICIAL_WEIGHTS:
        path = download_official(weights)
    if not path.is_file():
        raise ValueError(
            f"weights file not found: {weights}. " + NEED_WEIGHTS.format(command=command)
        )
    return DAC.load(path, map_location=device).to(device).eval()


def audio_seconds(path: Path, command: str) -> float:
    """Seconds of audio in an input, read from its header (0 where that cannot be read)."""
    try:
        if command == "encode":
            return sf.info(str(path)).duration
        return CompressedAudio.load(path).duration
    except (RuntimeError, ValueError, OSError):  # soundfile raises RuntimeError subclasses
        return 0.0


def fast_path(model: DAC, inputs: list[tuple[Path, Path | None]], args) -> DAC:
    """``model`` prepared for inference, its Snakes compiled as ``--compile`` says (``auto``:
    when the inputs hold at least ``COMPILE_PAYS_FROM_SECONDS`` of audio and ``can_compile``)."""
    compile = args.compile == "on"
    if args.compile == "auto" and can_compile(args.device):
        seconds = sum(audio_seconds(p, args.command) for p, rel in inputs if rel is not None)
        compile = seconds >= COMPILE_PAYS_FROM_SECONDS
    return model.prepare_for_inference(compile=compile)


def encode_file(model: DAC, path: Path, args: argparse.Namespace) -> CompressedAudio:
    """Read ``path`` (a truncated file: one warning line, or an error under ``--strict``) and
    compress it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedAudioWarning)
        audio, sr = load_audio(path, strict=args.strict)
    for warning in caught:
        if issubclass(warning.category, TruncatedAudioWarning):
            tqdm.write(f"warning: {warning.message} (--strict refuses it)", file=sys.stderr)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return model.compress(
        audio,
        args.n_quantizers,
        sample_rate=sr,
        chunk_seconds=args.chunk_seconds,
        fast=not args.plain,
    )


def run(args: argparse.Namespace) -> int:
    """Process every input; returns the number that failed."""
    model = None
    if args.command != "info":
        model = load_model(args.weights, args.command, args.device)
        if args.command == "encode":
            check_n_quantizers(args.n_quantizers, model.n_codebooks)
    inputs = list(find_inputs(args.inputs, args.command))
    if not inputs:
        print("no input files found", file=sys.stderr)
        return 1
    if model is not None and not args.plain:
        model = fast_path(model, inputs, args)
    failed = 0
    for path, relative in tqdm(
        inputs, desc=args.command, unit="file", disable=len(inputs) < 2 or args.quiet
    ):
        try:
            if relative is None:
                raise ValueError("no such file or folder")
            if args.command == "encode":
                compressed = encode_file(model, path, args)
                compressed.save(Path(args.out) / relative.with_suffix(FILE_SUFFIX))
            elif args.command == "decode":
                compressed = CompressedAudio.load(path)
                audio = model.decompress(
                    compressed, chunk_seconds=args.chunk_seconds, fast=not args.plain
                )
                save_audio(
                    Path(args.out) / relative.with_suffix("." + args.format),
                    audio,
                    compressed.sample_rate,
                )
            else:
                info = CompressedAudio.load(path).info()
                tqdm.write(
                    f"{path}\n" + "".join(f"  {key}: {value}\n" for key, value in info.items()),
                    end="",
                )
        except (ValueError, OSError) as err:
            failed += 1
            tqdm.write(f"error: {path}: {err}", file=sys.stderr)
    return failed


def _add_speed_options(sub: argparse.ArgumentParser) -> None:
    """``--compile`` and ``--plain``: how fast a path ``encode`` and ``decode`` take."""
    sub.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="fuse Snake with torch.compile: faster, after a start-up delay that long inputs "
        f"repay; auto (the default) compiles when the inputs add up to "
        f"{COMPILE_PAYS_FROM_SECONDS:g} s of audio or more, on a CPU with a C++ compiler",
    )
    sub.add_argument(
        "--plain",
        action="store_true",
        help="run the model as trained: no prepare_for_inference, no compiling (slower; "
        "the same codes, and the same audio to float rounding)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dac_minimal", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("encode", "audio files or folders → .dacm files"),
        ("decode", ".dacm files or folders → audio files"),
        ("info", "describe .dacm files"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "inputs", nargs="+", metavar="IN", help="files or folders (searched recursively)"
        )
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        if name == "info":
            continue
        sub.add_argument("--out", required=True, metavar="DIR", help="output folder")
        sub.add_argument(
            "--weights",
            metavar="PATH|NAME",
            help="checkpoint file, or an official model to download: "
            + ", ".join(OFFICIAL_WEIGHTS),
        )
        sub.add_argument(
            "--chunk-seconds",
            type=float,
            default=DEFAULT_CHUNK_SECONDS,
            help="process long files in pieces of this length (memory ∝ it; the output does not "
            "change)",
        )
        sub.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
        _add_speed_options(sub)
        if name == "encode":
            sub.add_argument(
                "--n-quantizers",
                type=int,
                default=None,
                metavar="K",
                help="codebooks to keep (default all): bitrate ≈ K × 0.86 kbps at 44.1 kHz",
            )
            sub.add_argument(
                "--strict",
                action="store_true",
                help="refuse truncated files (fewer samples than their header declares, or an Ogg "
                "stream cut off) instead of encoding what they hold with a warning",
            )
        else:
            sub.add_argument(
                "--format", choices=("wav", "flac"), default="wav", help="output audio format"
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        failed = run(args)
    except (
        ValueError,
        RuntimeError,
    ) as err:  # no weights, unreadable weights, no network for a download
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
