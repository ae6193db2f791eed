"""Measuring a codec: metrics, the evaluation command, classic-codec baselines, the ablations.

- ``metrics``: mel/STFT distances, SI-SDR, SNR, MFCC distance, codebook utilization
- ``evaluation``: a codec over folders of clips, tables and figures
  (``python -m dac_minimal.evaluate``)
- ``baselines``: Opus and MP3 through ffmpeg, delay-aligned
- ``ablations``: the paper's ablations in miniature (``python -m dac_minimal.evaluate.ablations``)
- ``balancer``: EnCodec's gradient balancer, the alternative to DAC's fixed loss weights
"""

from dac_minimal.evaluate.evaluation import evaluate, evaluate_model, load_clips, markdown_table

__all__ = ["evaluate", "evaluate_model", "load_clips", "markdown_table"]
