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


_REFERFORMER_FLAGS = "--with_box_refine --binary --freeze_text_encoder"

BASELINES: dict[str, RvosBaseline] = {
    "referformer": RvosBaseline(
        key="referformer", method="ReferFormer", repo_url="https://github.com/wjn922/ReferFormer",
        script="inference_ytvos.py",
        command=("{python} inference_ytvos.py " + _REFERFORMER_FLAGS + " --ytvos_path {ytvos} "
                 "--output_dir {output} --resume {checkpoint} --backbone {backbone} --ngpu {ngpu}"),
        backbone="video_swin_b", setting="offline", year=2022,
        notes="writes <output>/valid/<video>/<exp_id>/<frame>.png",
    ),
    "sgmg": RvosBaseline(
        key="sgmg", method="SgMg", repo_url="https://github.com/bo-miao/SgMg",
        script="inference_ytvos.py",
        command=("{python} inference_ytvos.py " + _REFERFORMER_FLAGS + " --eval --amp --ytvos_path {ytvos} "
                 "--output_dir {output} --resume {checkpoint} --backbone {backbone} --ngpu {ngpu}"),
        backbone="video_swin_b_p4w7", setting="offline", year=2023,
        notes="writes <output>/Annotations/<video>/<exp_id>/<frame>.png; also needs "
              "--backbone_pretrained (add it to --command)",
    ),
    "r2vos": RvosBaseline(
        key="r2vos", method="R²-VOS", repo_url="https://github.com/lxa9867/R2VOS",
        script="inference_ytvos.py",
        command=("{python} inference_ytvos.py " + _REFERFORMER_FLAGS + " --use_cycle --mix_query --neg_cls "
                 "--is_eval --use_cls --ytvos_path {ytvos} --output_dir {output} --resume {checkpoint} "
                 "--backbone {backbone} --ngpu {ngpu}"),
        backbone="resnet50", setting="online", year=2023,
        patch="assert len(video_list) == 202 or len(video_list) == 202+305",
        notes="writes <output>/valid/<video>/<exp_id>/<frame>.png; inference_ytvos_segm.py if it runs out of memory",
    ),
    "onlinerefer": RvosBaseline(
        key="onlinerefer", method="OnlineRefer", repo_url="https://github.com/wudongming97/OnlineRefer",
        script="inference_ytvos_online.py",
        command=("{python} inference_ytvos_online.py " + _REFERFORMER_FLAGS + " --online --ytvos_path {ytvos} "
                 "--output_dir {output} --resume {checkpoint} --backbone {backbone} --ngpu {ngpu}"),
        backbone="swin_l_p4w7", setting="online", year=2023,
        notes="writes <output>/valid/<video>/<exp_id>/<frame>.png",
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
