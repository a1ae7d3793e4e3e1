"""Runs an upstream referring-VOS inference script (ReferFormer, SgMg, R2VOS,
OnlineRefer) on a CPU with the network stubbed, for the conformance tests.

    python rvos_upstream_harness.py inference_ytvos.py --with_box_refine ...   (cwd: the checkout)

The script itself runs unmodified (or with the documented one-line edit), with its
own argument parser, data reading, query selection, resizing and PNG writing.
Stubbed, and nothing else:
  - `models.build_model`: builds the requested --backbone with upstream's own
    backbone class (random weights; the ImageNet / Kinetics downloads are skipped)
    around a stand-in head whose mask is a vertical stripe chosen by the expression's
    text (`stripe_of`), so the test can tell every expression's masks apart;
  - CUDA: `torch.cuda.set_device`, `.cuda()`, and `--device` (default "cuda") -> cpu.
  - the compiled CUDA extension `MultiScaleDeformableAttention` (models/ops, built with
    nvcc), imported at module level and never called once build_model is stubbed;
  - `torchvision.models.utils` (R2VOS's amm_resnet imports load_state_dict_from_url from
    it; torchvision moved it to torch.hub long ago): an alias, never called;
  - util/misc.py's torchvision version check (reads "0.29" as 0.2 < 0.7 and imports
    helpers torchvision removed), for the duration of its import.
"""

import argparse
import hashlib
import os
import runpy
import sys

import torch
import torchvision

STRIPES = 4


def stripe_of(text: str) -> int:
    """Which of STRIPES vertical stripes the stand-in head marks for this expression."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % STRIPES


def build_upstream_backbone(args):
    """The backbone dispatch of every one of these repositories' models/*.build()."""
    if "video_swin" in args.backbone:
        from models.video_swin_transformer import build_video_swin_backbone

        return build_video_swin_backbone(args)
    if "swin" in args.backbone:
        from models.swin_transformer import build_swin_backbone

        return build_swin_backbone(args)
    import models.backbone as backbone_module

    # R2VOS passes pretrained=is_main_process(): torchvision would download ImageNet weights
    backbone_module.is_main_process = lambda: False
    return backbone_module.build_backbone(args)


class StandInHead(torch.nn.Module):
    """The network's outputs, in the shapes the inference scripts index."""

    queries = 5

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, samples, captions, targets):
        frames = samples[0]
        t, _, h, w = frames.shape
        q = self.queries
        logits = torch.full((1, t, q, 1), -5.0)
        logits[:, :, 2] = 5.0  # the query the scripts select (highest mean score)
        masks = torch.full((1, t, q, h, w), -10.0)
        k = stripe_of(captions[0])
        masks[:, :, 2, :, k * w // STRIPES: (k + 1) * w // STRIPES] = 10.0
        return {"pred_logits": logits, "pred_boxes": torch.full((1, t, q, 4), 0.5),
                "pred_masks": masks, "reference_points": torch.full((1, t, q, 2), 0.5),
                "reference_inits": torch.full((1, t, q, 2), 0.5),
                # R2VOS (--use_cycle, --use_cls): a pair logit < 0.5 keeps the mask
                "sentence_feature": torch.zeros(1, 8), "pseudo_sentence_feature": torch.zeros(1, 1, 8),
                "pair_logits": torch.tensor(0.0)}

    # OnlineRefer's frame-by-frame interface
    def generate_empty_tracks(self):
        return None

    def inference(self, samples, track_res, captions, targets):
        return self.forward(samples, captions, targets)

    def post_process_single_image(self, outputs, track_res, is_last=False):
        return track_res


def build_model(args):
    backbone = build_upstream_backbone(args)
    print(f"harness: built --backbone {args.backbone} with upstream's {type(backbone[0]).__name__} "
          f"({sum(p.numel() for p in backbone.parameters())} random weights)", flush=True)
    return StandInHead(backbone), None, None


def main() -> None:
    script, argv = sys.argv[1], sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    # CUDA on a CPU
    torch.cuda.set_device = lambda *a, **k: None
    torch.Tensor.cuda = lambda self, *a, **k: self
    torch.nn.Module.cuda = lambda self, *a, **k: self
    parse_args = argparse.ArgumentParser.parse_args

    def parse_on_cpu(self, *a, **k):
        args = parse_args(self, *a, **k)
        if getattr(args, "device", None) == "cuda":
            args.device = "cpu"
        return args

    argparse.ArgumentParser.parse_args = parse_on_cpu
    import types

    sys.modules.setdefault("MultiScaleDeformableAttention", types.ModuleType("MultiScaleDeformableAttention"))
    if "torchvision.models.utils" not in sys.modules:
        alias = types.ModuleType("torchvision.models.utils")
        alias.load_state_dict_from_url = torch.hub.load_state_dict_from_url
        sys.modules[alias.__name__] = alias
    version = torchvision.__version__
    torchvision.__version__ = "0.99"  # util/misc.py: float(v[:3]) < 0.7 / float(v[2:4]) < 7
    try:
        import util.misc  # noqa: F401
    finally:
        torchvision.__version__ = version
    import models

    models.build_model = build_model
    sys.argv = argv
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
