"""The referring-VOS baselines of Table 2, as data: where their official code
lives, which script runs inference on Ref-YouTube-VOS, and how to call it.

Every one of them descends from ReferFormer's `inference_ytvos.py`: it reads
`<ytvos>/valid/JPEGImages/<video>/<frame>.jpg` and
`<ytvos>/meta_expressions/{valid,test}/meta_expressions.json`, and writes one
0/255 PNG per frame to `<output>/<valid|Annotations>/<video>/<exp_id>/<frame>.png`.
Their scripts assert the 202 videos of Ref-YouTube-VOS's validation set;
`patch` is the one-line edit that lifts it for another split (see docs/baselines.md).

Command templates are formatted with: {python} {repo} {ytvos} {output}
{checkpoint} {ngpu} {backbone}, each shell-quoted.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from instrack.errors import UsageError


@dataclass(frozen=True)
class RvosBaseline:
    key: str
    #: the row name in the paper's Table 2
    method: str
    repo_url: str
    script: str
    command: str
    #: backbone of the checkpoint the paper's row most likely used (a default only)
    backbone: str
    setting: str
    year: int
    #: the assertion to comment out so the script accepts a split other than 202 videos
    patch: str = "assert len(video_list) == 202"
    notes: str = ""
    #: the upstream commit the conformance test (tests/test_baselines_upstream_rvos.py) passed against
    tested_commit: str = ""
    #: the released Ref-YouTube-VOS checkpoint for the default backbone (their README)
    checkpoint_file: str = ""

    @property
    def edit(self) -> str:
        """The one-line shell edit that comments out the 202-video assertion in `script`."""
        return f"sed -i 's/^\\(\\s*\\)\\({_sed_escape(self.patch)}\\)/\\1pass  # \\2/' {self.script}"


def _sed_escape(text: str) -> str:
    return "".join("\\" + c if c in "[]*.^$/\\" else c for c in text)


_REFERFORMER_FLAGS = "--with_box_refine --binary --freeze_text_encoder"

BASELINES: dict[str, RvosBaseline] = {
    "referformer": RvosBaseline(
        key="referformer", method="ReferFormer", repo_url="https://github.com/wjn922/ReferFormer",
        script="inference_ytvos.py",
        command=("{python} inference_ytvos.py " + _REFERFORMER_FLAGS + " --ytvos_path {ytvos} "
                 "--output_dir {output} --resume {checkpoint} --backbone {backbone} --ngpu {ngpu}"),
        # upstream's video Swin builder asserts one of video_swin_{t,s,b}_p4w7
        backbone="video_swin_b_p4w7", setting="offline", year=2022,
        notes="writes <output>/valid/<video>/<exp_id>/<frame>.png",
        tested_commit="06fc218f5d8f04730f81471a15ed89ea7e4d30d8", checkpoint_file="README Model Zoo, Ref-Youtube-VOS, Video-Swin-B: model",
    ),
    "sgmg": RvosBaseline(
        key="sgmg", method="SgMg", repo_url="https://github.com/bo-miao/SgMg",
        script="inference_ytvos.py",
        command=("{python} inference_ytvos.py " + _REFERFORMER_FLAGS + " --eval --amp --ytvos_path {ytvos} "
                 "--output_dir {output} --resume {checkpoint} --backbone {backbone} --ngpu {ngpu}"),
        backbone="video_swin_b_p4w7", setting="offline", year=2023,
        notes="writes <output>/Annotations/<video>/<exp_id>/<frame>.png; --backbone_pretrained is "
              "optional (the checkpoint carries the backbone)",
        tested_commit="90fd3c476858218b1ed0c21ec28e64e762ca2c84", checkpoint_file="README Model Zoo, Ref-YouTube-VOS, Video-Swin-B: model",
    ),
    "r2vos": RvosBaseline(
        key="r2vos", method="R²-VOS", repo_url="https://github.com/lxa9867/R2VOS",
        script="inference_ytvos.py",
        command=("{python} inference_ytvos.py " + _REFERFORMER_FLAGS + " --use_cycle --mix_query --neg_cls "
                 "--is_eval --use_cls --ytvos_path {ytvos} --output_dir {output} --resume {checkpoint} "
                 "--backbone {backbone} --ngpu {ngpu}"),
        backbone="resnet50", setting="online", year=2023,
        patch="assert len(video_list) == 202 or len(video_list) == 202+305",
        notes="writes <output>/valid/<video>/<exp_id>/<frame>.png; its inference_ytvos_segm.py (for low "
              "memory) runs video_len // 5 segments, so a video of fewer than 5 frames gets no masks",
        tested_commit="88801cfba43cd0ca14f5da024678dd504f6737dc", checkpoint_file="checkpoint.pth (README, ResNet-50)",
    ),
    "onlinerefer": RvosBaseline(
        key="onlinerefer", method="OnlineRefer", repo_url="https://github.com/wudongming97/OnlineRefer",
        script="inference_ytvos_online.py",
        command=("{python} inference_ytvos_online.py " + _REFERFORMER_FLAGS + " --online --ytvos_path {ytvos} "
                 "--output_dir {output} --resume {checkpoint} --backbone {backbone} --ngpu {ngpu}"),
        backbone="swin_l_p4w7", setting="online", year=2023,
        notes="writes <output>/valid/<video>/<exp_id>/<frame>.png; models/onlinerefer.py loads RoBERTa from a "
              "hard-coded path with local_files_only=True: point it at a local roberta-base folder",
        tested_commit="5f13c5e35dd8231d29c52ad7b2d298471e9edbc8", checkpoint_file="README Model Zoo, Ref-Youtube-VOS, Swin-L: model",
    ),
}


def get_baseline(key: str) -> RvosBaseline:
    norm = key.lower().replace("²", "2").replace("-", "").replace("_", "")
    for baseline in BASELINES.values():
        if norm in (baseline.key, baseline.method.lower().replace("²", "2").replace("-", "")):
            return baseline
    close = difflib.get_close_matches(norm, list(BASELINES), n=1)
    hint = f" Did you mean: {close[0]}?" if close else ""
    raise UsageError(f"unknown referring-VOS baseline {key!r}.{hint} (known: {', '.join(BASELINES)})")
