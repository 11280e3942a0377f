#!/usr/bin/env python
"""Seconds per 182x218x182 volume: msgan's sliding window vs a bare Keras pass vs MONAI.

For each model (built by ``msgan.models.build``, 3 inputs) and overlap, prints one run's
wall-clock seconds of

- ``keras``: one bare ``model(volume)`` forward pass of the whole grid (no windows);
- ``msgan``: ``VolumePredictor.predict`` as ``msgan predict`` runs it (normalisation, the
  model's own window plan over the windows that touch the brain, de-normalisation, brain
  mask); for a stride-1 model (fcn) that is halo tiling of the brain's bounding box, which
  needs no overlap, so every overlap gives the same plan;
- ``all``: the same with a brain mask of ones, so every window of the grid runs (what msgan
  did before it skipped the windows outside the brain);
- ``msgan-win``: msgan with exactly MONAI's windows (``--window``, Gaussian blending),
  windows outside the brain skipped;
- ``monai``: ``monai.inferers.sliding_window_inference`` on the same architecture
  re-built in PyTorch (random weights: only speed is compared), same windows and overlap,

and the ratios msgan/keras, monai/msgan (msgan's speed-up) and msgan-win/monai, all taken
in this one run; the load average before and after is printed (the machine may be shared).
Benchmark-only dependencies (not in setup.py): ``pip install torch==2.13.0 monai``.
``--check-export`` also exports the model and checks that the SavedModel's
``predict_volume`` run in a fresh Python without msgan matches the library within 1e-4
on a real patient.

    PYTHONPATH=. python scripts/bench_inference.py                     # fcn, overlap 0.25
    PYTHONPATH=. python scripts/bench_inference.py --models fcn,unet --overlaps 0,0.25,0.5
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REAL = REPO.parent / "shared" / "data" / "open_ms_data"
SHAPE = (182, 218, 182)
INPUTS = ["T1", "T2", "T1POST"]


def load_volumes(real: bool, data_root: Path):
    """A real patient's T1/T2/T1POST (flair task) when available, else noise in a ball."""
    if real and (data_root / "cross_sectional").is_dir():
        from data_tools.io.cohort import open_cohort
        from data_tools.io.masks import brain_mask

        session = open_cohort(manifest=REPO / "examples" / "open_ms_data.csv", root=data_root).sessions()[0]
        volumes, _ = session.stack(INPUTS)
        return volumes, brain_mask(session, INPUTS), f"real patient {session.subject}"
    rng = np.random.default_rng(0)
    grid = np.indices(SHAPE).astype(np.float32) - (np.array(SHAPE, np.float32)[:, None, None, None] - 1) / 2
    brain = np.sqrt((grid ** 2).sum(0)) < 80
    volumes = rng.normal(300, 80, SHAPE + (3,)).astype(np.float32) * brain[..., None]
    return volumes, brain, "synthetic volume"


def normalization(volumes, brain) -> dict:
    stats = {name: {"mean": float(volumes[..., c][brain].mean()), "std": float(volumes[..., c][brain].std())}
             for c, name in enumerate(INPUTS)}
    stats["FLAIR"] = {"mean": 300.0, "std": 100.0}
    return {"scope": "global", "region": "brain", "stats": stats}


def torch_model(name: str, keras_model):
    """The same architecture in PyTorch (fcn: FCN-64; unet: the ch. 3 U-Net), eval mode."""
    import torch
    from torch import nn

    if name == "fcn":
        filters, layers, channels = keras_model.filters, [], 3
        for _ in range(keras_model.n_layers):
            layers += [nn.Conv3d(channels, filters, 3, padding=1), nn.ReLU()]
            channels = filters
        layers.append(nn.Conv3d(channels, 1, 3, padding=1))
        return nn.Sequential(*layers).eval()

    def block(cin, cout, stride=1, transpose=False, norm=True):
        conv = (nn.ConvTranspose3d(cin, cout, 3, stride=2, padding=1, output_padding=1) if transpose
                else nn.Conv3d(cin, cout, 3, stride=stride, padding=1))
        parts = [conv, nn.LeakyReLU(0.2)]
        return nn.Sequential(*parts, nn.BatchNorm3d(cout), nn.Dropout(0.5)) if norm else nn.Sequential(*parts)

    class UNet(nn.Module):
        def __init__(self, base, levels):
            super().__init__()
            widths = [base * 2 ** k for k in range(levels)]
            self.enc, self.down, cin = nn.ModuleList(), nn.ModuleList(), 3
            for w in widths:
                self.enc.append(nn.Sequential(block(cin, w), block(w, w)))
                self.down.append(block(w, w, stride=2))
                cin = w
            bottom = base * 2 ** levels
            self.bottleneck = nn.Sequential(block(cin, bottom), block(bottom, bottom))
            self.up, self.dec, cin = nn.ModuleList(), nn.ModuleList(), bottom
            for w in reversed(widths):
                self.up.append(block(cin, w, transpose=True))
                self.dec.append(nn.Sequential(block(2 * w, w), block(w, w)))
                cin = w
            self.out = block(cin, 1, norm=False)

        def forward(self, x):
            skips = []
            for enc, down in zip(self.enc, self.down):
                x = enc(x)
                skips.append(x)
                x = down(x)
            x = self.bottleneck(x)
            for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
                x = dec(torch.cat([up(x), skip], 1))
            return self.out(x)

    return UNet(keras_model.base_filters, keras_model.levels).eval()


def timed(fn, repeats: int, warm_up=None) -> float:
    """Best wall-clock seconds of ``repeats`` calls, after ``warm_up()`` (or one call).

    A warm-up on a small crop traces the same graphs (spatial sizes are dynamic) at a
    fraction of the cost of a whole-volume call.
    """
    (warm_up or fn)()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other jobs on a shared machine slow every column)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_monai(torch_net, volumes, window, overlap: float, repeats: int) -> float:
    """Seconds of MONAI's ``sliding_window_inference`` (Gaussian, batch 1) on the volume."""
    import torch
    from monai.inferers import sliding_window_inference

    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(volumes, -1, 0)[None]))

    def run_monai():
        with torch.inference_mode():
            sliding_window_inference(x, window, 1, torch_net, overlap=overlap, mode="gaussian")

    return timed(run_monai, repeats, lambda: None)  # eager PyTorch: nothing to trace


def bench_shipped(name: str, volumes, brain) -> None:
    """Seconds of a shipped model on the volume: the SavedModel's own ``predict_volume``
    graph (as exported: every window) vs ``msgan predict``'s pipeline around its network."""
    import tensorflow as tf

    from msgan.inference.predict import load_saved_model
    from msgan.inference.shipped import resolve_model

    predictor = load_saved_model(resolve_model(name))
    inputs = {"volumes": tf.constant(volumes), "brainmask": tf.constant(brain, tf.float32)}
    exported_s = timed(lambda: predictor.signature(**inputs)["prediction"].numpy(), 1)
    ours = predictor.predict(volumes, brain)  # warm-up (traces)
    timings: dict = {}
    msgan_s = timed(lambda: predictor.predict(volumes, brain, timings), 1, lambda: None)
    diff = float(np.abs(predictor.signature(**inputs)["prediction"].numpy() - ours).max())
    print(f"shipped {name}: exported predict_volume {exported_s:.1f} s, msgan {msgan_s:.1f} s "
          f"(x{exported_s / msgan_s:.2f}; normalise {timings['normalise']:.1f} s, predict "
          f"{timings['predict']:.1f} s), max |difference| {diff:.1e}")


def check_export(predictor, volumes, brain) -> float:
    """Max |SavedModel predict_volume (fresh Python, no msgan) - library| on this volume."""
    from msgan.inference.export import export_predictor, model_card

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = export_predictor(predictor, tmp / "model" / "1", model_card(predictor, {"task": "flair"}))
        np.save(tmp / "v.npy", volumes)
        np.save(tmp / "b.npy", brain.astype(np.float32))
        script = ("import numpy as np, tensorflow as tf\n"
                  f"m = tf.saved_model.load({str(out)!r})\n"
                  f"v = np.load({str(tmp / 'v.npy')!r}); b = np.load({str(tmp / 'b.npy')!r})\n"
                  "p = m.signatures['predict_volume'](volumes=tf.constant(v), brainmask=tf.constant(b))\n"
                  f"np.save({str(tmp / 'p.npy')!r}, p['prediction'].numpy())\n")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp, capture_output=True)
        served = np.load(tmp / "p.npy")
    return float(np.abs(served - predictor.predict(volumes, brain)).max())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="fcn")
    parser.add_argument("--overlaps", default="0.25")
    parser.add_argument("--window", type=int, default=64, help="MONAI/msgan-win window (cube side)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-monai", action="store_true")
    parser.add_argument("--synthetic", action="store_true", help="do not read the real patients")
    parser.add_argument("--data", type=Path, default=REAL, help="open_ms_data folder (real patients)")
    parser.add_argument("--check-export", action="store_true")
    parser.add_argument("--shipped", metavar="NAME", help="also time a shipped model (e.g. flair-t1-t2-t1post): "
                        "its exported predict_volume graph vs msgan predict's pipeline around it")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from msgan.inference.geometry import plan_for_model
    from msgan.inference.pipeline import VolumePredictor
    from msgan.inference.sliding_window import WindowPlan
    from msgan.models import build

    volumes, brain, source = load_volumes(not args.synthetic, args.data)
    crop = tuple(slice(s // 2 - 40, s // 2 + 40) for s in volumes.shape[:3])  # 80^3 warm-up crop
    small_volumes, small_brain = volumes[crop], brain[crop]
    norm = normalization(volumes, brain)
    window = (args.window,) * 3
    overlaps = [float(o) for o in args.overlaps.split(",")]
    print(f"{source}, shape {volumes.shape}, brain {brain.mean():.0%} of the grid, window {args.window}^3, "
          f"TF {tf.__version__}, best of {args.repeats} after a warm-up, {os.cpu_count()} CPUs, "
          f"load average {load_average()}")
    print(f"{'model':6} {'overlap':>7} {'keras s':>8} {'msgan s':>8} {'all s':>7} {'msgan-win s':>11} "
          f"{'monai s':>8} {'msgan/keras':>11} {'monai/msgan':>11} {'win/monai':>9}")
    everywhere = np.ones_like(brain)
    for name in args.models.split(","):
        model = build(name, len(INPUTS))
        try:
            keras_s = timed(lambda: model(volumes[None], training=False).numpy(), args.repeats,
                            lambda: model(small_volumes[None], training=False))
        except (tf.errors.OpError, ValueError) as exc:  # e.g. stride-incompatible whole volume
            keras_s = float("nan")
            print(f"{name}: bare whole-volume pass impossible ({type(exc).__name__})")
        torch_net = None if args.no_monai else torch_model(name, model)
        for overlap in overlaps:
            plan = plan_for_model(model, patch=window, overlap=overlap)
            predictor = VolumePredictor(model, INPUTS, "FLAIR", norm, plan)
            msgan_s = timed(lambda: predictor.predict(volumes, brain), args.repeats,
                            lambda: predictor.predict(small_volumes, small_brain))
            all_s = timed(lambda: predictor.predict(volumes, everywhere), args.repeats, lambda: None)
            same = VolumePredictor(model, INPUTS, "FLAIR", norm,
                                   WindowPlan(mode="gaussian", window=window, overlap=overlap))
            win_s = timed(lambda: same.predict(volumes, brain), args.repeats,
                          lambda: same.predict(small_volumes, small_brain))
            monai_s = float("nan") if torch_net is None else time_monai(torch_net, volumes, window, overlap,
                                                                        args.repeats)
            print(f"{name:6} {overlap:7.2f} {keras_s:8.1f} {msgan_s:8.1f} {all_s:7.1f} {win_s:11.1f} {monai_s:8.1f} "
                  f"{msgan_s / keras_s:11.2f} {monai_s / msgan_s:11.2f} {win_s / monai_s:9.2f}  [{plan.mode}]")
        if args.check_export:
            plan = plan_for_model(model, patch=window, overlap=overlaps[0])
            diff = check_export(VolumePredictor(model, INPUTS, "FLAIR", norm, plan), volumes, brain)
            print(f"{name}: SavedModel predict_volume (no msgan) vs library: max |diff| {diff:.2e} "
                  f"({'OK' if diff < 1e-4 else 'ABOVE 1e-4'})")
    if args.shipped:
        bench_shipped(args.shipped, volumes, brain)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
