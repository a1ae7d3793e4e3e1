"""The LVLM reasoning brain (paper §3.3, Eq. 1): T, Q_R, Q_p = F_Brain(I_R, X_inst).

A transformers LlavaForConditionalGeneration whose vocabulary gains <TK> and <PO>,
with LoRA on the language model's q_proj / v_proj only (LISA's settings: the
paper gives none). The last layer's hidden states at <TK> and <PO> go through
3-layer MLPs to the referring query Q_R and the purport query Q_p (two MLPs by
default, or the paper's one shared phi with `shared_projection`); the generated
text is the answer T. Conversations without <TK>/<PO> (VQA) train the text only.

The rows of <TK> and <PO> in the input embedding and the output head are the
only vocabulary rows that train. Rather than unfreezing two 32k x 4096 matrices
and masking their gradients, the two rows live in small float32 parameters
(ExtendedEmbedding / ExtendedHead) that stand in for them, so the frozen
matrices keep their dtype and checkpoints hold exactly the new rows.

Positions of <TK>, <PO> and of the image tokens are found in input_ids (the
<image> placeholder is expanded to as many tokens as the vision config yields),
never as fixed offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trackgpt.data import templates
from trackgpt.layers import MLP3
from trackgpt.presets import LlavaSpec, LoraSpec

IGNORE = -100


class ExtendedEmbedding(nn.Module):
    """A frozen embedding whose rows for `new_ids` come from trainable float32 rows."""

    def __init__(self, base: nn.Embedding, new_ids: Sequence[int]):
        super().__init__()
        self.base = base
        self.register_buffer("new_ids", torch.tensor(list(new_ids), dtype=torch.long), persistent=False)
        self.rows = nn.Parameter(base.weight.detach()[list(new_ids)].float().clone())

    @property
    def weight(self) -> torch.Tensor:  # transformers reads .weight (shape, dtype, device)
        return self.base.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.base(ids)
        for k in range(self.rows.shape[0]):
            hit = (ids == self.new_ids[k]).unsqueeze(-1)
            out = torch.where(hit, self.rows[k].to(out.dtype), out)
        return out


class ExtendedHead(nn.Module):
    """A frozen output head whose logits for `new_ids` use trainable float32 rows."""

    def __init__(self, base: nn.Linear, new_ids: Sequence[int]):
        super().__init__()
        self.base = base
        self.register_buffer("new_ids", torch.tensor(list(new_ids), dtype=torch.long), persistent=False)
        self.rows = nn.Parameter(base.weight.detach()[list(new_ids)].float().clone())

    @property
    def weight(self) -> torch.Tensor:
        return self.base.weight

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.base(hidden)
        new = hidden.to(self.rows.dtype) @ self.rows.t()
        index = self.new_ids.expand(*logits.shape[:-1], -1)
        return logits.scatter(-1, index, new.to(logits.dtype))


@dataclass
class BrainBatch:
    """Token ids of a batch of conversations (right-padded) and their images."""

    input_ids: torch.Tensor  # (B, L)
    attention_mask: torch.Tensor  # (B, L)
    labels: torch.Tensor  # (B, L), IGNORE outside the answer
    pixel_values: torch.Tensor  # (B, 3, S, S)

    def to(self, device: torch.device, dtype: torch.dtype | None = None) -> "BrainBatch":
        return BrainBatch(self.input_ids.to(device), self.attention_mask.to(device), self.labels.to(device),
                          self.pixel_values.to(device, dtype or self.pixel_values.dtype))


@dataclass
class BrainOutput:
    q_r: torch.Tensor  # (N, D) referring queries of the N conversations with <TK>/<PO>
    q_p: torch.Tensor  # (N, D) purport queries
    text_loss: torch.Tensor | None = None
    answers: list[str] | None = None
    rows: torch.Tensor | None = None  # (N,) which conversations of the batch those are


class Brain(nn.Module):
    """LLaVA + <TK>/<PO> + LoRA + projections."""

    def __init__(self, llava, tokenizer, *, spec: LlavaSpec, lora: LoraSpec | None, out_dim: int,
                 projection_hidden: int | None = None, max_new_tokens: int = 32, shared_projection: bool = False):
        """
        Arguments:
          llava: a transformers LlavaForConditionalGeneration (weights loaded or random)
          tokenizer: its tokenizer; <TK> and <PO> are added here
          spec: the preset's LLaVA architecture (image preprocessing constants)
          lora: LoRA settings for the language model, or None for no adapters
          out_dim: width of Q_R and Q_p (SAM's prompt dimension, 256 at full size)
          projection_hidden: hidden width of the 3-layer projections (default: LLM width)
          max_new_tokens: answer tokens the brain may generate at inference
          shared_projection: one MLP phi for both tokens, as Eq. 1's text writes
            (Q_R = phi(<TK>), Q_p = phi(<PO>)); False: one MLP each (our default)
        """
        super().__init__()
        from trackgpt.tokenizer import add_tracking_tokens

        self.spec = spec
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.tk_id, self.po_id = add_tracking_tokens(tokenizer)
        config = llava.config
        self.image_token_id = int(config.image_token_index)
        vision = config.vision_config
        extra = 0 if config.vision_feature_select_strategy == "default" else 1
        self.num_image_tokens = (vision.image_size // vision.patch_size) ** 2 + extra
        self.image_size = int(vision.image_size)

        rows = llava.get_input_embeddings().weight.shape[0]
        if max(self.tk_id, self.po_id) >= rows:
            llava.resize_token_embeddings(max(self.tk_id, self.po_id) + 1, mean_resizing=False)
        new_ids = (self.tk_id, self.po_id)
        embedding = llava.get_input_embeddings()
        head = llava.get_output_embeddings()
        with torch.no_grad():
            # Start the new rows at the mean of the known ones (as transformers'
            # mean resizing does) rather than at whatever the padding rows held.
            known = [i for i in range(embedding.weight.shape[0]) if i not in new_ids]
            embedding.weight[list(new_ids)] = embedding.weight[known].float().mean(0).to(embedding.weight.dtype)
            head.weight[list(new_ids)] = head.weight[known].float().mean(0).to(head.weight.dtype)
        llava.set_input_embeddings(ExtendedEmbedding(embedding, new_ids))
        llava.lm_head = ExtendedHead(head, new_ids)

        for parameter in llava.parameters():
            parameter.requires_grad_(False)
        if lora is not None and lora.r > 0:
            from peft import LoraConfig, inject_adapter_in_model

            # The regex confines LoRA to the language model: CLIP has q_proj/v_proj too.
            targets = "|".join(lora.target_modules)
            lora_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                     target_modules=rf".*language_model.*\.({targets})", bias="none")
            llava = inject_adapter_in_model(lora_config, llava)
            for name, parameter in llava.named_parameters():
                parameter.requires_grad_("lora_" in name)
        llava.get_input_embeddings().rows.requires_grad_(True)
        llava.lm_head.rows.requires_grad_(True)
        self.llava = llava

        hidden = int(config.text_config.hidden_size)
        width = projection_hidden or hidden
        self.project_tk = MLP3(hidden, width, out_dim)  # <TK> -> Q_R
        # The paper writes one phi for both; two separate MLPs are our default
        # (docs/trackgpt.md): the two queries feed different decoder inputs.
        self.project_po = self.project_tk if shared_projection else MLP3(hidden, width, out_dim)  # <PO> -> Q_p
        self.register_buffer("image_mean", torch.tensor(spec.image_mean).view(3, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(spec.image_std).view(3, 1, 1), persistent=False)

    # ---- inputs -------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.image_mean.device

    def preprocess(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """H x W x 3 uint8 RGB -> (3, S, S) normalised. "pad" aspect (LLaVA-1.5):
        padded to a square with the mean colour first, so nothing is cropped;
        "crop" (LLaVA v1, LISA): shortest side resized to S, centre crop."""
        x = torch.tensor(np.asarray(image)).to(self.device).permute(2, 0, 1).float() / 255.0
        _, h, w = x.shape
        if self.spec.image_aspect == "crop":
            scale = self.image_size / min(h, w)
            size = (max(self.image_size, round(h * scale)), max(self.image_size, round(w * scale)))
            x = F.interpolate(x[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0]
            top, left = (size[0] - self.image_size) // 2, (size[1] - self.image_size) // 2
            canvas = x[:, top : top + self.image_size, left : left + self.image_size].clamp(0, 1)
            return (canvas - self.image_mean) / self.image_std
        side = max(h, w)
        canvas = self.image_mean.expand(3, side, side).clone()
        top, left = (side - h) // 2, (side - w) // 2
        canvas[:, top : top + h, left : left + w] = x
        canvas = F.interpolate(canvas[None], size=(self.image_size, self.image_size), mode="bilinear",
                               align_corners=False, antialias=True)[0]
        return (canvas - self.image_mean) / self.image_std

    def _ids(self, text: str, bos: bool) -> list[int]:
        return self.tokenizer(text, add_special_tokens=bos).input_ids

    def tokenize(self, question: str, answer: str | None) -> tuple[list[int], list[int]]:
        """Ids of one conversation with its <image> placeholder expanded, and labels
        that supervise the answer only."""
        return self.tokenize_turns([(question, answer)])

    def tokenize_turns(self, turns: Sequence[tuple[str, str | None]]) -> tuple[list[int], list[int]]:
        """Ids and labels of a conversation of one or more (user, assistant) turns;
        the first user turn carries the image. Every assistant answer (and its end
        of sequence) is supervised; a final answer of None leaves the prompt open
        for generation."""
        ids: list[int] = []
        labels: list[int] = []
        for number, (user, assistant) in enumerate(turns):
            if number == 0:
                before, _, after = templates.prompt(user).partition(templates.IMAGE)
                part = self._ids(before, bos=True) + [self.image_token_id] * self.num_image_tokens + self._ids(after, bos=False)
            else:
                part = self._ids(templates.follow_up(user), bos=False)
            ids += part
            labels += [IGNORE] * len(part)
            if assistant is not None:
                answer_ids = self._ids(assistant, bos=False) + [self.tokenizer.eos_token_id]
                ids += answer_ids
                labels += answer_ids
        return ids, labels

    def collate(self, questions: Sequence[str], pixel_values: torch.Tensor, answers: Sequence[str | None] | None = None) -> BrainBatch:
        answers = answers if answers is not None else [templates.answer()] * len(questions)
        return self.collate_turns([[(q, a)] for q, a in zip(questions, answers)], pixel_values)

    def collate_turns(self, conversations: Sequence[Sequence[tuple[str, str | None]]], pixel_values: torch.Tensor) -> BrainBatch:
        """A right-padded batch of conversations, one image each."""
        rows = [self.tokenize_turns(turns) for turns in conversations]
        length = max(len(ids) for ids, _ in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        input_ids = torch.full((len(rows), length), pad, dtype=torch.long)
        labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, (ids, lab) in enumerate(rows):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, : len(lab)] = torch.tensor(lab)
            mask[i, : len(ids)] = 1
        return BrainBatch(input_ids, mask, labels, pixel_values)

    # ---- forward ------------------------------------------------------------

    def token_rows(self, ids: torch.Tensor) -> torch.Tensor:
        """Indices of the conversations that carry <TK> and <PO> (exactly one of
        each); the others must carry neither (text-only turns, e.g. VQA)."""
        tk, po = (ids == self.tk_id).sum(1), (ids == self.po_id).sum(1)
        tracking = (tk == 1) & (po == 1)
        text_only = (tk == 0) & (po == 0)
        if not torch.all(tracking | text_only):
            raise ValueError("every conversation needs exactly one <TK> and one <PO>, or neither (text only); "
                             f"<TK> counts {tk.tolist()}, <PO> counts {po.tolist()}")
        return torch.nonzero(tracking).flatten()

    def forward(self, batch: BrainBatch, with_text_loss: bool = True) -> BrainOutput:
        """Teacher-forced pass (training, and inference once the answer is known):
        text loss on the answers, Q_R / Q_p from the last layer at <TK> / <PO>
        for the conversations that have them (`rows`; text-only conversations
        train the text loss only)."""
        ids = batch.input_ids
        rows = self.token_rows(ids)
        dtype = self.llava.get_input_embeddings().weight.dtype
        out = self.llava.model(input_ids=ids, attention_mask=batch.attention_mask,
                               pixel_values=batch.pixel_values.to(dtype))
        hidden = out.last_hidden_state  # after the final norm
        tracked = ids[rows]
        h_tk = hidden[rows, (tracked == self.tk_id).int().argmax(1)]
        h_po = hidden[rows, (tracked == self.po_id).int().argmax(1)]
        q_r = self.project_tk(h_tk.float())
        q_p = self.project_po(h_po.float())
        text_loss = None
        if with_text_loss:
            # Logits only where the next token is supervised: the same cross-entropy
            # as the full LM loss, without a B x L x 32k logits tensor.
            target = batch.labels[:, 1:]
            where = target != IGNORE
            logits = self.llava.lm_head(hidden[:, :-1][where])
            text_loss = F.cross_entropy(logits.float(), target[where])
        return BrainOutput(q_r=q_r, q_p=q_p, text_loss=text_loss, rows=rows)

    @torch.no_grad()
    def reason(self, image: np.ndarray, questions: Sequence[str], generate: bool = True) -> BrainOutput:
        """Eq. (1) at inference, for several instructions on one frame at once.

        The answer is generated greedily; the hidden states of <TK>/<PO> are then
        read in one teacher-forced pass over the generated answer. When the model
        does not produce <TK> and <PO> (an untrained model), the template answer
        is used for that pass and the generated words are still reported."""
        pixels = self.preprocess(image)[None].expand(len(questions), -1, -1, -1)
        answers = [templates.answer()] * len(questions)
        texts = [templates.ANSWER] * len(questions)
        if generate and self.max_new_tokens > 0:
            generated = self._generate(pixels, questions)
            for i, ids in enumerate(generated):
                text = self.tokenizer.decode(ids, skip_special_tokens=False)
                text = text.replace(self.tokenizer.eos_token or "</s>", "").replace(self.tokenizer.pad_token or "<pad>", "").strip()
                texts[i] = text
                if ids.count(self.tk_id) == 1 and ids.count(self.po_id) == 1:
                    answers[i] = " " + text
        batch = self.collate(questions, pixels, answers).to(self.device)
        out = self.forward(batch, with_text_loss=False)
        out.answers = texts
        return out

    def _generate(self, pixels: torch.Tensor, questions: Sequence[str]) -> list[list[int]]:
        rows = [self.tokenize(q, None)[0] for q in questions]
        length = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        # Left padding for generation, so every row continues from its last token.
        ids = torch.full((len(rows), length), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, length - len(r):] = torch.tensor(r)
            mask[i, length - len(r):] = 1
        dtype = self.llava.get_input_embeddings().weight.dtype
        out = self.llava.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                  pixel_values=pixels.to(dtype), max_new_tokens=self.max_new_tokens,
                                  do_sample=False, pad_token_id=pad, eos_token_id=self.tokenizer.eos_token_id)
        new = out[:, length:].tolist()
        result = []
        for seq in new:
            if self.tokenizer.eos_token_id in seq:
                seq = seq[: seq.index(self.tokenizer.eos_token_id)]
            # Text after <PO> is kept: a free-form answer (ReasonSeg style) follows the
            # tokens, and causal attention leaves the <TK>/<PO> states unchanged by it.
            result.append(seq)
        return result
