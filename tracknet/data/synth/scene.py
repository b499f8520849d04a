"""The static scene of a clip: court surface and lines, net and posts, backdrop, lighting, marks.

Every pixel's ray is intersected with the ground, the net plane and a backdrop plane behind the
court; the result is a float RGB image with a margin around the frame for camera shake.
"""

from __future__ import annotations

import numpy as np

from tracknet.data.synth.plan import ClipPlan
from tracknet.data.synth.presets import LINE_COLOUR, SURFACES, Sport
from tracknet.data.synth.raster import blend_capsules


def _smooth_noise(shape: tuple[int, int], cells: tuple[int, int], rng: np.random.Generator):
    """Low-frequency noise in ``[-1, 1]``: a coarse random grid, bilinearly upsampled."""
    grid = rng.uniform(-1, 1, (cells[0] + 1, cells[1] + 1))
    rows = np.linspace(0, cells[0], shape[0])
    cols = np.linspace(0, cells[1], shape[1])
    along_rows = np.stack(
        [np.interp(rows, np.arange(cells[0] + 1), grid[:, c]) for c in range(cells[1] + 1)], axis=1
    )
    return np.stack([np.interp(cols, np.arange(cells[1] + 1), r) for r in along_rows]).astype(
        np.float32
    )


def _line_cover(offset: np.ndarray, footprint: np.ndarray, half_width: float) -> np.ndarray:
    """Share of a pixel (box of ``footprint`` metres) covered by a line of ``2 * half_width``."""
    lo = np.maximum(offset - footprint / 2, -half_width)
    hi = np.minimum(offset + footprint / 2, half_width)
    return np.clip(hi - lo, 0, None) / footprint


def _court_lines(sport: Sport) -> list[tuple[str, float, float, float]]:
    """Court lines as ``(axis, position, start, end)``: ``"y"`` lines run across the court."""
    length, half = sport.length, sport.length / 2
    w, s = sport.width / 2, sport.singles_width / 2
    lines = [("y", 0.0, -w, w), ("y", length, -w, w)]
    lines += [("x", -w, 0.0, length), ("x", w, 0.0, length)]
    lines += [("x", -s, 0.0, length), ("x", s, 0.0, length)]
    svc = sport.service_from_net
    lines += [("y", half - svc, -s, s), ("y", half + svc, -s, s)]
    if sport.long_service_from_baseline:  # badminton: centre line to the baselines
        lb = sport.long_service_from_baseline
        lines += [("y", lb, -w, w), ("y", length - lb, -w, w)]
        lines += [("x", 0.0, 0.0, half - svc), ("x", 0.0, half + svc, length)]
    else:  # tennis: centre service line and centre marks
        lines += [("x", 0.0, half - svc, half + svc), ("x", 0.0, 0.0, 0.15)]
        lines += [("x", 0.0, length - 0.15, length)]
    return lines


def render_background(plan: ClipPlan, margin: int, rng: np.random.Generator) -> np.ndarray:
    """The static scene as float RGB ``[H + 2m, W + 2m, 3]``; pixel ``(i, j)`` is ``(i-m, j-m)``."""
    width, height = plan.size
    cam, sport = plan.camera, plan.sport
    hp, wp = height + 2 * margin, width + 2 * margin
    a = (np.arange(wp, dtype=np.float32) - margin - cam.centre[0]) / cam.focal
    b = (np.arange(hp, dtype=np.float32) - margin - cam.centre[1]) / cam.focal
    rot = cam.rotation.astype(np.float32)
    ray = a[None, :, None] * rot[0] + b[:, None, None] * rot[1] + rot[2]  # [Hp, Wp, 3] world dirs
    px, py, pz = (float(c) for c in cam.position)
    dz = ray[..., 2]
    looks_down = dz < -1e-6
    # rays that never meet the ground get a far-away point beyond the backdrop
    t_ground = np.where(looks_down, -pz / np.where(looks_down, dz, -1.0), 1e4)
    gx = px + t_ground * ray[..., 0]
    gy = py + t_ground * ray[..., 1]
    back_y = sport.length + sport.back_space
    ground = looks_down & (gy < back_y)

    image = _ground_colour(plan, gx, gy, rng)
    image = _draw_lines(image, sport, gx, gy, ground)
    # the backdrop and the net only cover some rows: compute them there only
    sky = np.flatnonzero((~ground).any(axis=1))
    top = int(sky.max()) + 1 if len(sky) else 0
    backdrop = _backdrop_colour(ray[:top], cam.position, back_y, rng)
    image[:top] = np.where(ground[:top, :, None], image[:top], backdrop)
    net_rows = _net_rows(plan, margin, hp)
    _draw_net(image[net_rows], plan, ray[net_rows], gy[net_rows], ground[net_rows])
    _draw_posts(image, plan, margin)
    # lighting: a vertical gradient and a vignette
    rows = np.linspace(-1, 1, hp, dtype=np.float32)[:, None]
    cols = np.linspace(-1, 1, wp, dtype=np.float32)[None, :]
    light = (1 + rng.uniform(-0.08, 0.08) * rows) * (
        1 - rng.uniform(0.05, 0.2) * (rows**2 + cols**2) / 2
    )
    image *= light[..., None]
    _draw_marks(image, plan, margin, rng)
    return image


def _ground_colour(plan: ClipPlan, gx: np.ndarray, gy: np.ndarray, rng: np.random.Generator):
    sport = plan.sport
    inner, outer, texture = SURFACES[plan.surface]
    jitter = rng.uniform(0.9, 1.1, 3)
    inside = (np.abs(gx) <= sport.width / 2 + 0.3) & (gy >= -0.3) & (gy <= sport.length + 0.3)
    image = np.where(
        inside[..., None],
        np.asarray(inner, np.float32) * jitter,
        np.asarray(outer, np.float32) * jitter,
    )
    shade = 1 + 0.05 * _smooth_noise(gx.shape, (6, 10), rng)
    finite_y = np.nan_to_num(gy, posinf=0.0, neginf=0.0)
    finite_x = np.nan_to_num(gx, posinf=0.0, neginf=0.0)
    if texture == "stripes":  # mowing bands across the court
        shade *= 1 + 0.05 * np.sign(np.sin(np.pi * finite_y / 2.4))
    elif texture == "blotches":
        shade *= 1 + 0.08 * _smooth_noise(gx.shape, (30, 50), rng)
    elif texture == "planks":
        shade *= 1 + 0.04 * np.sign(np.sin(np.pi * finite_x / 0.12))
    return image * shade[..., None].astype(np.float32)


def _draw_lines(image: np.ndarray, sport: Sport, gx: np.ndarray, gy: np.ndarray, ground):
    half_width = 0.025
    foot_x = np.maximum(np.abs(np.gradient(gx, axis=1)), 1e-3)
    foot_y = np.maximum(np.abs(np.gradient(gy, axis=0)), 1e-3)
    cover = np.zeros(gx.shape, dtype=np.float32)
    for axis, position, start, end in _court_lines(sport):
        if axis == "y":
            along, offset, foot = gx, gy - position, foot_y
        else:
            along, offset, foot = gy, gx - position, foot_x
        within = (along >= start - half_width) & (along <= end + half_width)
        np.maximum(cover, np.where(within, _line_cover(offset, foot, half_width), 0), out=cover)
    cover = np.where(ground, np.nan_to_num(cover), 0)[..., None]
    return image + cover * (LINE_COLOUR - image)


def _backdrop_colour(ray: np.ndarray, position: np.ndarray, back_y: float, rng):
    """Advertising boards, a wall and a crowd on a vertical plane behind the court."""
    dy = np.where(ray[..., 1] > 1e-6, ray[..., 1], 1e-6)
    t = (back_y - position[1]) / dy
    wx = np.clip(position[0] + t * ray[..., 0], -1e4, 1e4)
    wz = np.clip(position[2] + t * ray[..., 2], -1e4, 1e4)
    board_colours = rng.integers(20, 240, (16, 3)).astype(np.float32)
    board = board_colours[(np.floor(np.nan_to_num(wx) / 4.0).astype(int)) % 16]
    wall = np.float32(rng.integers(20, 90, 3))
    crowd_colours = rng.integers(30, 220, (97, 3)).astype(np.float32)
    cell = (
        np.floor(np.nan_to_num(wx) / 0.45).astype(int) * 31
        + np.floor(np.nan_to_num(wz) / 0.5).astype(int) * 17
    )
    crowd = crowd_colours[cell % 97] * 0.7
    image = np.where((wz < 1.0)[..., None], board, np.where((wz < 3.0)[..., None], wall, crowd))
    return image.astype(np.float32)


def _net_rows(plan: ClipPlan, margin: int, rows: int) -> slice:
    """The image rows (padded image) that the net can cover."""
    sport = plan.sport
    post_x = sport.width / 2 + 0.5
    corners = [
        [x, sport.length / 2, z] for x in (-post_x, post_x) for z in (0.0, sport.net_post_height)
    ]
    uv, _ = plan.camera.project(np.array(corners))
    lo = int(np.clip(np.floor(uv[:, 1].min()) + margin - 2, 0, rows))
    hi = int(np.clip(np.ceil(uv[:, 1].max()) + margin + 3, lo, rows))
    return slice(lo, hi)


def _draw_net(image: np.ndarray, plan: ClipPlan, ray: np.ndarray, gy: np.ndarray, ground):
    """Net mesh and tape, in place, on rows whose rays are given."""
    sport, cam = plan.sport, plan.camera
    half = sport.length / 2
    post_x = sport.width / 2 + 0.5
    dy = np.where(ray[..., 1] > 1e-6, ray[..., 1], 1e-6)
    t = (half - cam.position[1]) / dy
    nx = cam.position[0] + t * ray[..., 0]
    nz = cam.position[2] + t * ray[..., 2]
    top = sport.net_height + (sport.net_post_height - sport.net_height) * (nx / post_x) ** 2
    in_front = ~ground | (gy > half)  # the net plane is nearer than the ground behind it
    net = in_front & (ray[..., 1] > 1e-6) & (np.abs(nx) <= post_x) & (nz >= 0) & (nz <= top)
    alpha = np.where(nz > top - 0.07, 0.85, 0.45) * net
    colour = np.where((nz > top - 0.07)[..., None], LINE_COLOUR, np.float32(20))
    image += alpha[..., None].astype(np.float32) * (colour - image)


def _draw_posts(image: np.ndarray, plan: ClipPlan, margin: int) -> None:
    sport, cam = plan.sport, plan.camera
    half = sport.length / 2
    post_x = sport.width / 2 + 0.5
    for sign in (-1.0, 1.0):
        ends, depth = cam.project(
            np.array([[sign * post_x, half, 0.0], [sign * post_x, half, sport.net_post_height]])
        )
        radius = cam.focal * 0.05 / max(float(depth.mean()), 0.5)
        blend_capsules(image, (ends + margin)[None], radius, np.array([50.0, 50, 50]), 1.0)


def _draw_marks(image: np.ndarray, plan: ClipPlan, margin: int, rng: np.random.Generator):
    """Static ball-coloured blobs: logos and marks on the court, balls lying by the boards."""
    sport, cam = plan.sport, plan.camera
    for _ in range(plan.marks):
        point = np.array(
            [rng.uniform(-0.5, 0.5) * (sport.width + 4), rng.uniform(-2, sport.length + 2), 0.0]
        )
        uv, depth = cam.project(point)
        near = plan.ball_diameter.max() if plan.ball_diameter.any() else 6.0
        diameter = max(3.0, near * rng.uniform(0.5, 1.2) * (cam.project(np.zeros(3))[1] / depth))
        blend_capsules(
            image, (uv + margin)[None, None].repeat(2, 1), diameter / 2, plan.ball_colour, 0.9
        )
