"""Loading a run at another input size than it was trained at (``model.input_size=...``, the
speed/accuracy trade-off of docs/benchmarks.md): the heatmap size follows the model."""

import torch

from tracknet.config import load_config, wh_to_hw
from tracknet.infer.loading import follow_input_size, load_run


def test_the_heatmap_size_follows_an_overridden_input_size():
    trained = load_config(overrides=["model.input_size=[512,288]", "model.heatmap.size=[256,144]"])
    smaller = load_config(overrides=["model.input_size=[384,224]", "model.heatmap.size=[256,144]"])
    follow_input_size(smaller, trained)
    assert list(smaller.model.heatmap.size) == [192, 112]
    # a heatmap size given with it, or the trained input size: left as they are
    both = load_config(overrides=["model.input_size=[384,224]", "model.heatmap.size=[96,56]"])
    follow_input_size(both, trained)
    assert list(both.model.heatmap.size) == [96, 56]
    same = load_config(overrides=["model.input_size=[512,288]", "model.heatmap.size=[256,144]"])
    follow_input_size(same, trained)
    assert list(same.model.heatmap.size) == [256, 144]


def test_a_run_loaded_at_another_input_size_decodes_the_heatmaps_its_model_gives(tiny_run):
    """Without it the codec read the model's smaller heatmaps on the trained grid (every position
    wrong: measured 0 true positives on validation at 384x224)."""
    model, cfg = load_run(tiny_run, ["model.input_size=[96,64]"])
    h, w = wh_to_hw(cfg.model.input_size)
    with torch.no_grad():
        logits = model.eval()(torch.rand(1, model.frames, 3, h, w))
    assert list(cfg.model.heatmap.size) == [logits.shape[-1], logits.shape[-2]] == [48, 32]
    _, trained = load_run(tiny_run)
    assert list(trained.model.heatmap.size) == [32, 24]
