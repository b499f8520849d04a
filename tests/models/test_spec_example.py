"""The specification's example, verbatim, against a tiny random DINOv3 in the local HF cache."""

import subprocess
import sys
import textwrap

SPEC_EXAMPLE = textwrap.dedent(
    """
    import torch
    from tracknet.models import (
        ViTBackbone, ViTBackboneConfig,
        UpsamplingDecoder,
        HeatmapHead,
    )

    B, C, H, W = 2, 3, 720, 1280
    x = torch.randn(B, C, H, W)

    backbone = ViTBackbone(ViTBackboneConfig(
        pretrained_model_name="facebook/dinov3-vits16-pretrain-lvd1689m",
        device_map="auto",
        local_files_only=True,
        patch_size=16,
    ))
    tokens = backbone(x)  # [B,45,80,384]

    decoder = UpsamplingDecoder(
        channels=[384, 256, 128, 64],
        upsample=[2, 2, 2],
        out_size=(144, 256),
        blocks_per_stage=1,
        norm="gn",
        activation="gelu",
        use_depthwise=True,
        use_se=False,
    )
    features = decoder(tokens)

    head = HeatmapHead(64)
    heatmaps = head(features)  # [B,1,144,256]
    print(heatmaps.shape)
    """
)


def test_spec_example_prints_expected_shape(spec_model_in_cache, tmp_path):
    script = tmp_path / "spec_example.py"
    script.write_text(SPEC_EXAMPLE)
    # A fresh interpreter, so the real from_pretrained(..., local_files_only=True) path runs
    # against the test's private hub cache exactly as a user's would against theirs.
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "torch.Size([2, 1, 144, 256])"
