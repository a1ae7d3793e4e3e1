"""Tokenizers: the checkpoint's own (real weights), or a byte-level one built in
code for randomly initialised presets (nothing to download).

The built-in tokenizer is a real `PreTrainedTokenizerFast` (byte-level BPE with no
merges: one token per UTF-8 byte), laid out like LLaVA-1.5's vocabulary where it
matters: `<image>` sits at the preset's image token index and `<pad>` after it, so
`<TK>` and `<PO>` are appended at the same ids as with the real tokenizer.
"""

from __future__ import annotations

from pathlib import Path

from instrack.errors import InsTrackError

TK = "<TK>"  # referring token (paper §3.3)
PO = "<PO>"  # purport token
IMAGE = "<image>"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by ByteLevel."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def build_byte_tokenizer(image_token_index: int):
    """A byte-level tokenizer whose `<image>` id is `image_token_index`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>"]
    if image_token_index < 256 + len(specials):
        raise ValueError(f"image token index {image_token_index} collides with the byte tokens")
    vocab = {ch: b for b, ch in _bytes_to_unicode().items()}
    for offset, token in enumerate(specials):
        vocab[token] = 256 + offset
    # Fill the gap up to <image> so ids line up with the reference vocabulary.
    for index in range(256 + len(specials), image_token_index):
        vocab[f"<unused{index}>"] = index
    vocab[IMAGE] = image_token_index
    vocab["<pad>"] = image_token_index + 1
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    core.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 256 + 1)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE]})
    return tokenizer


def load_tokenizer(llava_path: str | Path):
    from transformers import AutoTokenizer

    path = Path(llava_path)
    try:
        return AutoTokenizer.from_pretrained(str(path), use_fast=True)
    except (OSError, ValueError) as err:
        raise InsTrackError(f"--llava {path}: no usable tokenizer files ({err})") from err


def add_tracking_tokens(tokenizer) -> tuple[int, int]:
    """Add <TK> and <PO> (no-op when present); return their ids."""
    tokenizer.add_tokens([TK, PO], special_tokens=True)
    return tokenizer.convert_tokens_to_ids(TK), tokenizer.convert_tokens_to_ids(PO)
