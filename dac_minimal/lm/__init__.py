"""A language model over codec tokens (chapter 12).

- ``transformer``: code layouts (delay, flattened), a small causal transformer, sampling, training
- ``tokenize``: folders of audio to code files (``save_tokens``/``load_tokens``) and back
"""

from dac_minimal.lm.transformer import CodecLM, LMConfig, evaluate_lm, generate, train_lm

__all__ = ["CodecLM", "LMConfig", "evaluate_lm", "generate", "train_lm"]
