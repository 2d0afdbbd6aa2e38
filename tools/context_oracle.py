"""How much could channel-group context networks (WD 8.4.1) save on a trained model?

Two oracles on the latent of a float checkpoint without context networks, its channels
ordered by decreasing rate into ``G`` groups as ``openlic train --init`` orders them for a
context model (the first half of the patches sets the order and fits the oracles, the
second half measures):

* **scales**: the bits of groups 1 .. G-1 when the hyperprior's scales are multiplied,
  per bin of the local activity of the groups before (the mean magnitude of their
  residuals in a 3 x 3 window, 20 quantile bins), by the factor that suits each bin best;
* **means**: the bits of each group when a ridge-regression prediction from the
  residuals of the groups before (at the position and its four neighbours) is
  subtracted; the best of a few ridge strengths is reported.

An oracle fitted on the data it measures would overstate the gain; these are fitted on
one half and measured on the other, except the scale bins (20 factors, a negligible
fit) and the choice among the ridge strengths. Usage::

    python tools/context_oracle.py models/openlic-1/train.pt BANK.npy
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encoder.export import calibrate, load_model, reorder_latent_channels
from encoder.model import gaussian_likelihood

FACTORS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
BINS = 20
RIDGES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
"""Ridge strengths, relative to the mean diagonal of the normal equations."""


def bits(r: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return -torch.log2(gaussian_likelihood(r, scale))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("bank", type=Path, help="patch bank (openlic train --bank-dir)")
    ap.add_argument("--patches", type=int, default=96)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--anchors", type=int, nargs="+", default=[1, 3, 5])
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.checkpoint)
    bank = np.load(args.bank, mmap_mode="r")
    pick = np.sort(np.random.default_rng(0).choice(len(bank), args.patches, replace=False))
    fit, test = np.asarray(bank[pick[0::2]]), np.asarray(bank[pick[1::2]])
    order = np.argsort(-calibrate(model, fit)["bits"], kind="stable")
    reorder_latent_channels(model, torch.from_numpy(order.copy()))
    per = model.cfg.m_latent // args.groups
    for k in args.anchors:
        with torch.no_grad():
            parts = {}
            for name, data in (("fit", fit), ("test", test)):
                x = torch.from_numpy(data).permute(0, 3, 1, 2).float() / 255
                y = model.analysis(x)
                mean, log_scale = model.hyper_synthesis(torch.round(model.h_a(y)))
                gain, _ = model.gains(torch.full((len(data),), k))
                parts[name] = (y * gain - mean * gain, log_scale.exp() * gain)
            v, s = parts["test"]
            r = torch.round(v)
            total = bits(r, s).sum().item()
            later = scaled = 0.0
            for g in range(1, args.groups):
                c = slice(g * per, (g + 1) * per)
                activity = F.avg_pool2d(r[:, : g * per].abs().mean(1, keepdim=True), 3, 1, 1)
                edges = torch.quantile(activity.flatten(), torch.linspace(0, 1, BINS + 1)[1:-1])
                b = torch.bucketize(activity, edges).expand_as(r[:, c])
                each = torch.stack([bits(r[:, c], s[:, c] * f) for f in FACTORS])
                later += each[FACTORS.index(1.0)].sum().item()
                scaled += sum(each[:, b == i].sum(1).min().item() for i in range(BINS))
            print(
                f"anchor {k}: bits of groups 1..{args.groups - 1} {later:.0f} of {total:.0f}; "
                f"scales by activity {100 * (scaled / later - 1):+.2f} % of them"
            )
            vf, _ = parts["fit"]
            for g in range(1, args.groups):
                c = slice(g * per, (g + 1) * per)

                def features(v: torch.Tensor, g: int = g) -> torch.Tensor:
                    rr = torch.round(v[:, : g * per])
                    shifts = ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0))
                    f = torch.cat([torch.roll(rr, sh, (2, 3)) for sh in shifts], 1)
                    return f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]).double()

                def target(v: torch.Tensor, c: slice = c) -> torch.Tensor:
                    return v[:, c].permute(0, 2, 3, 1).reshape(-1, per).double()

                a, t = features(vf), target(vf)
                gram, rhs = a.T @ a, a.T @ t
                scale = gram.diagonal().mean().item()
                t = target(v)
                sc = s[:, c].permute(0, 2, 3, 1).reshape(-1, per)
                before = bits(torch.round(t.float()), sc).sum().item()
                after = before
                for ridge in RIDGES:
                    eye = torch.eye(len(gram), dtype=gram.dtype)
                    w = torch.linalg.solve(gram + ridge * scale * eye, rhs)
                    pred = (features(v) @ w).float()
                    after = min(after, bits(torch.round(t.float() - pred), sc).sum().item())
                print(
                    f"anchor {k}, group {g}: means predicted from the groups before "
                    f"{100 * (after / before - 1):+.1f} % of the group's bits"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
