"""Using a trained codec: checkpoints of the official package, ``.dacm`` files, long audio, speed.

- ``dacm``: the compressed file format (``FORMAT.md``), ``compress`` and ``decompress``
- ``chunked``: encoding and decoding long audio in chunks, equal to a whole-file pass
- ``official``: downloading the official ``descript-audio-codec`` weights
- ``inference``: folding weight norm and fusing Snake for faster inference, and the fast path
  that ``compress``, ``decompress`` and the command line take
- ``convs``: transposed convolutions as polyphase banks, channels-last activations
- ``cli``: ``python -m dac_minimal encode|decode|info``
"""

from dac_minimal.codec.chunked import decode_chunked, encode_chunked
from dac_minimal.codec.dacm import FILE_SUFFIX, CompressedAudio, compress, decompress
from dac_minimal.codec.inference import prepare_for_inference
from dac_minimal.codec.official import OFFICIAL_WEIGHTS, download_official

__all__ = [
    "FILE_SUFFIX",
    "OFFICIAL_WEIGHTS",
    "CompressedAudio",
    "compress",
    "decode_chunked",
    "decompress",
    "download_official",
    "encode_chunked",
    "prepare_for_inference",
]
