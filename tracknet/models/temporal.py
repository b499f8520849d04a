"""Parts that look beyond one frame: temporal fusion of patch grids and the detail path.

Shapes: ``B`` windows of ``T`` frames; patch grids ``[B, T, Hp, Wp, C]``; images ``[B, T, 3, H, W]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tracknet.models.blocks import ResidualDepthwiseBlock, make_activation, make_norm


class TemporalAttention(nn.Module):
    """Self-attention over the T frames at each patch position (weights shared across patches)."""

    def __init__(self, channels: int, frames: int, layers: int = 1, heads: int = 4):
        super().__init__()
        if channels % heads:
            raise ValueError(f"temporal heads={heads} must divide the backbone width {channels}")
        self.time_embed = nn.Parameter(torch.zeros(frames, channels))
        layer = nn.TransformerEncoderLayer(
            channels,
            heads,
            dim_feedforward=2 * channels,
            dropout=0.0,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, grids: torch.Tensor, select: int | None = None) -> torch.Tensor:
        """``[B, T, Hp, Wp, C]`` -> the same, or ``[B, 1, Hp, Wp, C]`` for frame ``select`` alone.

        With ``select`` the last layer computes only that frame's query, attention output and
        feed-forward (its keys and values still come from all T frames), which is what streaming
        decoding needs: the same result as ``forward(grids)[:, select]`` for about half the work.
        """
        b, t, hp, wp, c = grids.shape
        seq = grids.permute(0, 2, 3, 1, 4).reshape(b * hp * wp, t, c)  # -> [B*Hp*Wp, T, C]
        seq = seq + self.time_embed[:t]
        layers = list(self.encoder.layers)
        if select is None:
            for layer in layers:
                seq = layer(seq)
        else:
            for layer in layers[:-1]:
                seq = layer(seq)
            seq = _one_query(layers[-1], seq, select)  # [B*Hp*Wp, 1, C]
            t = 1
        return seq.reshape(b, hp, wp, t, c).permute(0, 3, 1, 2, 4)  # -> [B, T, Hp, Wp, C]


def _one_query(layer: nn.TransformerEncoderLayer, seq: torch.Tensor, select: int) -> torch.Tensor:
    """Output of a pre-norm encoder ``layer`` at position ``select`` of ``seq`` ``[N, T, C]``.

    Written out from the layer's own modules (norm_first: ``x + SA(LN1(x))``, then
    ``x + FF(LN2(x))``), so only one of the T positions pays for the query, the output
    projection and the feed-forward.
    """
    h = layer.norm1(seq)
    q = h[:, select : select + 1]
    x = seq[:, select : select + 1] + layer.dropout1(
        layer.self_attn(q, h, h, need_weights=False)[0]
    )
    ff = layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm2(x)))))
    return x + layer.dropout2(ff)


class TemporalConcat(nn.Module):
    """Each frame's tokens plus a projection of all T frames' tokens concatenated."""

    def __init__(self, channels: int, frames: int):
        super().__init__()
        self.frames = frames
        self.proj = nn.Linear(frames * channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, grids: torch.Tensor, select: int | None = None) -> torch.Tensor:
        """``[B, T, Hp, Wp, C]`` -> the same, or ``[B, 1, Hp, Wp, C]`` for frame ``select``."""
        b, t, hp, wp, c = grids.shape
        stacked = grids.permute(0, 2, 3, 1, 4).reshape(b, hp, wp, t * c)  # [B, Hp, Wp, T*C]
        own = grids if select is None else grids[:, select : select + 1]
        return own + self.proj(stacked).unsqueeze(1)  # broadcast over T


def build_temporal_fusion(kind: str, channels: int, frames: int, layers: int, heads: int):
    if frames == 1 or kind == "none":
        return None
    if kind == "attention":
        return TemporalAttention(channels, frames, layers, heads)
    if kind == "concat":
        return TemporalConcat(channels, frames)
    raise ValueError(f"temporal fusion must be attention, concat or none; got {kind!r}")


def detail_inputs(
    frames: torch.Tensor, use_diff: bool, background: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-frame input of the detail path: the frame, its differences and the background.

    Args:
        frames: ``[B, T, 3, H, W]`` normalised frames.
        use_diff: add ``frame[t] - frame[t-1]`` and ``frame[t+1] - frame[t]`` (zero at the ends).
        background: ``[B, 3, H, W]`` background frame, or ``None``.

    Returns:
        ``[B, T, K, H, W]`` with ``K = 3 (+6 with diffs) (+6 with a background)``.
    """
    parts = [frames]
    if use_diff:
        prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)  # frame t-1, clamped at t=0
        nxt = torch.cat([frames[:, 1:], frames[:, -1:]], dim=1)  # frame t+1, clamped at t=T-1
        parts += [frames - prev, nxt - frames]
    if background is not None:
        bg = background.unsqueeze(1).expand_as(frames)
        parts += [bg, frames - bg]
    return torch.cat(parts, dim=2)


class DetailPath(nn.Module):
    """A light convolutional encoder on raw frames at ``1/scale`` resolution.

    It sees what 16 px patches blur away: the ball's exact position and its motion between frames.
    Its output is fused into the decoder's last, highest-resolution stage.
    """

    def __init__(
        self,
        channels: int = 32,
        scale: int = 2,
        use_diff: bool = True,
        background: bool = False,
        norm: str = "gn",
        activation: str = "gelu",
    ):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"model.detail.scale must be 1, 2 or 4; got {scale}")
        self.use_diff, self.background = use_diff, background
        in_ch = 3 + (6 if use_diff else 0) + (6 if background else 0)
        hidden = max(8, channels // 2)
        layers: list[nn.Module] = []
        c = in_ch
        strides = {1: [1], 2: [2], 4: [2, 2]}[scale]
        for i, stride in enumerate(strides):
            out = hidden if i < len(strides) - 1 else channels
            layers += [nn.Conv2d(c, out, 3, stride=stride, padding=1, bias=False)]
            layers += [make_norm(norm, out), make_activation(activation)]
            c = out
        if len(strides) == 1:  # one more plain conv so the path has a receptive field > 3 px
            layers = [
                nn.Conv2d(in_ch, hidden, 3, stride=strides[0], padding=1, bias=False),
                make_norm(norm, hidden),
                make_activation(activation),
                nn.Conv2d(hidden, channels, 3, padding=1, bias=False),
                make_norm(norm, channels),
                make_activation(activation),
            ]
        layers += [ResidualDepthwiseBlock(channels, norm, activation) for _ in range(2)]
        self.net = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(
        self,
        frames: torch.Tensor,
        background: torch.Tensor | None = None,
        select: int | None = None,
        mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[B, T, 3, H, W]`` -> ``[B*T, Cd, H/scale, W/scale]`` (``[B, ...]`` with ``select``).

        Args:
            frames: normalised frames; or frames in [0, 1] with ``mean`` and ``std`` (3 values
                each), which the path then normalises itself.
            background: ``[B, 3, H, W]``, normalised like ``frames``.
            select: compute only frame ``select`` of each window (its differences still use the
                neighbours): what streaming inference needs.
        """
        if self.background and background is None:
            background = frames.median(dim=1).values  # the window's median as a stand-in
        background = background if self.background else None
        if select is not None:
            return self.net(self._one_frame_inputs(frames, background, select, mean, std))
        if mean is not None and std is not None:
            frames = (frames - mean.view(3, 1, 1)) / std.view(3, 1, 1)
            if background is not None:
                background = (background - mean.view(3, 1, 1)) / std.view(3, 1, 1)
        x = detail_inputs(frames, self.use_diff, background)
        return self.net(x.flatten(0, 1))  # [B*T, K, H, W] -> [B*T, Cd, H/s, W/s]

    # ------------------------------------------------------------------ streaming stems
    # The first convolution is linear in its inputs, and every input (the frame, its
    # differences, the background and the frame minus it) is a sum of frames scaled by 1/std
    # after the mean is taken off: so it splits into one convolution per frame (a frame's part
    # as the centre, as the previous and as the next frame of a window), computed once per frame
    # however many windows share it, plus one per stream for the background. Zero padding of
    # the normalised inputs is zero padding of ``frame - mean``, so the split is exact (up to
    # the order of the float sums). Streaming inference (:class:`tracknet.infer.predictor.
    # WindowScheduler`) caches these stems instead of building the K-channel inputs per window.

    @property
    def first_conv(self) -> nn.Conv2d:
        """The first convolution (over the stacked input channels of a frame)."""
        conv = self.net[0]
        assert isinstance(conv, nn.Conv2d) and conv.bias is None  # as __init__ builds it
        return conv

    def _folded_weights(self, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first convolution's weights per frame role and for the background, on the
        mean-removed frames: ``[R*hidden, 3, k, k]`` (R roles: centre, previous, next) and
        ``[hidden, 3, k, k]`` (``None`` without a background)."""
        w = self.first_conv.weight
        inv = (1.0 / std.flatten().to(w.dtype)).view(1, 3, 1, 1)
        centre, i = w[:, 0:3], 3
        roles: list[torch.Tensor] = []
        if self.use_diff:
            d_prev, d_next = w[:, 3:6], w[:, 6:9]  # (cur - prev), (next - cur)
            centre = centre + d_prev - d_next
            roles = [-d_prev, d_next]
            i = 9
        bg_w = None
        if self.background:
            bg, d_bg = w[:, i : i + 3], w[:, i + 3 : i + 6]  # bg, (cur - bg)
            centre = centre + d_bg
            bg_w = (bg - d_bg) * inv
        return torch.cat([centre, *roles]) * inv, bg_w

    def _stem_conv(self, images: torch.Tensor, weight: torch.Tensor, mean: torch.Tensor):
        first = self.first_conv
        x = images - mean.view(1, 3, 1, 1).to(images.dtype)
        padding = first.padding
        assert not isinstance(padding, str)  # integers, as __init__ builds it
        return F.conv2d(x, weight.to(x.dtype), None, first.stride, padding)

    def stem(self, images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """Per-frame part of the first convolution: ``[N, 3, H, W]`` in [0, 1] ->
        ``[N, R*hidden, H/s, W/s]`` (R = 3 with differences, else 1)."""
        return self._stem_conv(images, self._folded_weights(std)[0], mean)

    def background_stem(
        self, background: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
    ) -> torch.Tensor | None:
        """The background's part of the first convolution (``None`` for a path without one)."""
        bg_w = self._folded_weights(std)[1]
        return None if bg_w is None else self._stem_conv(background, bg_w, mean)

    def from_stems(
        self,
        stems: torch.Tensor,
        background_stem: torch.Tensor | None = None,
        select: int | None = None,
    ) -> torch.Tensor:
        """The path's output from cached stems, as :meth:`forward` gives it from the frames.

        Args:
            stems: ``[B, T, R*hidden, H', W']`` (:meth:`stem` of each frame of the windows).
            background_stem: ``[1 or B, hidden, H', W']`` (:meth:`background_stem`); required
                when the path takes a background.
            select: only that frame of each window.
        """
        if self.background and background_stem is None:
            raise ValueError("this detail path takes a background: pass background_stem=")
        h, t = self.first_conv.out_channels, stems.shape[1]

        def one(o: int) -> torch.Tensor:
            y = stems[:, o, :h]
            if self.use_diff:
                y = y + stems[:, max(o - 1, 0), h : 2 * h] + stems[:, min(o + 1, t - 1), 2 * h :]
            return y if background_stem is None else y + background_stem

        if select is not None:
            x = one(select)
        else:
            x = torch.stack([one(o) for o in range(t)], dim=1).flatten(0, 1)
        return self.net[1:](x)

    def _one_frame_inputs(self, frames, background, select, mean, std) -> torch.Tensor:
        """The inputs of frame ``select`` alone, as :func:`detail_inputs` would give them.

        Streaming pays for one frame, not T. Built in one channels-last copy (the layout the
        convolutions run in), with the normalisation folded into a single multiply-add over the
        K channels (the differences only scale: their means cancel).
        """
        t = frames.shape[1]
        cur = frames[:, select]  # [B, 3, H, W]
        parts, centred = [cur], [True]
        if self.use_diff:
            parts += [cur - frames[:, max(select - 1, 0)], frames[:, min(select + 1, t - 1)] - cur]
            centred += [False, False]
        if background is not None:
            parts += [background, cur - background]
            centred += [True, False]
        x = torch.cat([p.permute(0, 2, 3, 1) for p in parts], dim=-1)  # [B, H, W, K]
        if mean is not None and std is not None:
            inv = 1.0 / std.flatten().to(x.dtype)
            shift = -mean.flatten().to(x.dtype) * inv
            scale = inv.repeat(len(parts))
            offset = torch.cat([shift if c else torch.zeros_like(shift) for c in centred])
            x = torch.addcmul(offset, x, scale)
        return x.permute(0, 3, 1, 2)  # [B, K, H, W], channels-last in memory
