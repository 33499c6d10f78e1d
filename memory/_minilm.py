"""all-MiniLM-L6-v2 in plain torch: BERT's encoder, mean pooling and unit length.

sentence-transformers computes the same vectors, but importing it imports transformers,
scikit-learn and SciPy: 10-13 s on this project's machine, against ~3 s for torch, paid by
every process that embeds (a ``colony memory search``, each memory actor, each test worker).
This module reads the bundled files itself: ``tokenizer.json`` with the tokenizers library
and ``model.safetensors`` with safetensors. It runs what sentence-transformers runs for this
model (``modules.json``: the BERT model, mean pooling, normalisation), with its settings
(``sentence_bert_config.json``: 256 tokens at most; batches padded to their longest text);
a test checks its vectors against sentence-transformers' to float32 rounding.

Two things cost less than in sentence-transformers, with the same vectors (padding is
masked out, so it never changes one):
- batches are made by the texts' number of tokens, not characters: in batches of 64, the
  slot tagger's statements compute 28% more tokens than they hold when sorted by
  characters, 1% more sorted by tokens;
- the layers that read one token at a time (dense, norm, GELU: nearly all the arithmetic)
  run on the batch's tokens alone, packed into one matrix; only attention reads the batch
  padded. A few texts of mixed lengths, such as one session's turns, pad most: embedding
  LoCoMo's conv-26 session by session took 8.4 s before, 4.4 s now (one thread).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from memory.errors import InvalidInputError

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

__all__ = ["BertEncoder"]

WINDOW = 4096  # texts tokenised at a time before being sorted into batches by their tokens


class BertEncoder:
    """A BERT sentence encoder read from a sentence-transformers model folder, for
    inference: ``encode(texts)`` gives unit-length float32 vectors.

    Only the layout of all-MiniLM-L6-v2 is read (BERT, absolute positions, GELU, mean
    pooling, then normalisation); any other raises :class:`memory.errors.InvalidInputError` naming
    what differs, rather than computing something else.
    """

    def __init__(self, folder: str | Path, *, device: str = "cpu") -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
        expected = {
            "model_type": "bert",
            "hidden_act": "gelu",
            "position_embedding_type": "absolute",
        }
        differs = {k: config.get(k) for k, v in expected.items() if config.get(k) != v}
        modes = {k for k, on in pooling.items() if k.startswith("pooling_mode_") and on}
        if modes != {"pooling_mode_mean_tokens"}:
            differs["pooling"] = sorted(modes)
        if modules != [
            "sentence_transformers.models.Transformer",
            "sentence_transformers.models.Pooling",
            "sentence_transformers.models.Normalize",
        ]:
            differs["modules"] = modules
        if differs:
            raise InvalidInputError(f"{folder} is not a model this encoder reads: {differs}")
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.dim = int(config["hidden_size"])
        self.max_length = int(
            json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        )
        self.device = torch.device(device)
        self.weights = {
            name: tensor.to(self.device)
            for name, tensor in load_file(str(folder / "model.safetensors")).items()
        }
        self.tokenizer: Tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()  # each batch is padded to its own longest text
        self.pad_id = int(config.get("pad_token_id", 0))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> npt.NDArray[np.float32]:
        """Unit-length vectors of ``texts``, shape ``(len(texts), dim)``."""
        import torch

        out = np.zeros((len(texts), self.dim), np.float32)
        with torch.inference_mode():
            for chosen, ids, mask in self.batches(texts, batch_size):
                tensors = [torch.from_numpy(a).to(self.device) for a in (ids, mask)]
                out[chosen] = self._forward(*tensors).cpu().numpy()
        return out

    def batches(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[list[int], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """``(positions, ids, mask)`` of each forward pass :meth:`encode` makes, longest texts
        first: texts of about the same number of tokens, padded to the longest of them.

        The texts are tokenised :data:`WINDOW` at a time, longest in characters first (so a
        call of any size holds a bounded number of encodings), and each window's texts are
        sorted by their tokens into batches of ``batch_size``.
        """
        by_characters = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(by_characters), WINDOW):
            window = by_characters[start : start + WINDOW]
            encoded = self.tokenizer.encode_batch([texts[i] for i in window])
            tokens = sorted(
                ((position, e.ids) for position, e in zip(window, encoded, strict=True)),
                key=lambda pair: -len(pair[1]),
            )
            for first in range(0, len(tokens), batch_size):
                batch = tokens[first : first + batch_size]
                width = len(batch[0][1])
                ids = np.full((len(batch), width), self.pad_id, np.int64)
                mask = np.zeros((len(batch), width), np.int64)
                for row, (_, text_ids) in enumerate(batch):
                    ids[row, : len(text_ids)] = text_ids
                    mask[row, : len(text_ids)] = 1
                yield [position for position, _ in batch], ids, mask

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unit vectors of one padded batch. The layers that read one token at a time (the
        dense layers, norms and GELU: nearly all the arithmetic) run on the texts' tokens
        alone, packed into one matrix; only attention reads the batch padded, the padding
        masked out."""
        from torch.nn import functional as F

        w = self.weights

        def dense(x: torch.Tensor, name: str) -> torch.Tensor:
            return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])

        def norm(x: torch.Tensor, name: str) -> torch.Tensor:
            return F.layer_norm(x, (self.dim,), w[f"{name}.weight"], w[f"{name}.bias"], self.eps)

        batch, length = ids.shape
        head_dim = self.dim // self.heads
        tokens = mask.reshape(-1).nonzero().squeeze(1)  # the texts' tokens in the padded batch
        unpadded = tokens.numel() == batch * length  # one text, or texts of one length

        def heads(x: torch.Tensor) -> torch.Tensor:  # (batch, heads, length, head_dim)
            if not unpadded:
                x = x.new_zeros(batch * length, self.dim).index_copy_(0, tokens, x)
            return x.view(batch, length, self.heads, head_dim).transpose(1, 2)

        x = (
            w["embeddings.word_embeddings.weight"][ids.reshape(-1)[tokens]]
            + w["embeddings.position_embeddings.weight"][tokens % length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = norm(x, "embeddings.LayerNorm")
        attend = mask.bool()[:, None, None, :]  # each token sees its text's tokens, no padding
        for n in range(self.layers):
            layer = f"encoder.layer.{n}"
            q, k, v = (
                dense(x, f"{layer}.attention.self.{part}") for part in ("query", "key", "value")
            )
            context = F.scaled_dot_product_attention(
                heads(q), heads(k), heads(v), attn_mask=attend, scale=1 / math.sqrt(head_dim)
            )
            context = context.transpose(1, 2).reshape(batch * length, self.dim)
            if not unpadded:
                context = context[tokens]
            x = norm(
                dense(context, f"{layer}.attention.output.dense") + x,
                f"{layer}.attention.output.LayerNorm",
            )
            hidden = F.gelu(dense(x, f"{layer}.intermediate.dense"))
            x = norm(dense(hidden, f"{layer}.output.dense") + x, f"{layer}.output.LayerNorm")
        summed = x.new_zeros(batch, self.dim).index_add_(0, tokens // length, x)
        pooled = summed / mask.sum(dim=1, keepdim=True).to(x.dtype).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=1)
