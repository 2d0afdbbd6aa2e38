"""Benchmarks of OpenLIC: rate-distortion against other codecs, and speed.

``openlic bench rd``, ``openlic bench speed``, ``openlic bench decode``,
``openlic bench compare``, ``openlic bench report`` and ``openlic bench all`` (see
:mod:`openlic.cli`) run them; ``bash scripts/bench.sh`` regenerates the results page of
the documentation (``docs/results.rst``, with its JSON data and figures under
``docs/results/``).

Modules:

* :mod:`openlic.bench.metrics`: PSNR on RGB, PSNR on YCbCr (6:1:1), MS-SSIM;
* :mod:`openlic.bench.bdrate`: Bjontegaard delta rate and PSNR (piecewise cubic);
* :mod:`openlic.bench.codecs`: OpenLIC and the classical codecs, behind one interface;
* :mod:`openlic.bench.compare`: one picture coded by every codec at one rate, drawn
  side by side;
* :mod:`openlic.bench.floatnet`: the float model and a float32 decoder of the integer
  network, for the quantisation loss and the speed comparison;
* :mod:`openlic.bench.rd`: the rate-distortion run;
* :mod:`openlic.bench.speed`: encoder and decoder speed, complexity and memory;
* :mod:`openlic.bench.reference`: published CompressAI results on Kodak;
* :mod:`openlic.bench.plots` and :mod:`openlic.bench.report`: figures and the page;
* :mod:`openlic.bench.machine`: the machine description the page states;
* :mod:`openlic.bench.memprobe`: peak memory of decoding or encoding, in a fresh process.

Everything here is informative: nothing in it is part of the decoding process.
"""

from __future__ import annotations


class BenchError(Exception):
    """A benchmark cannot run (missing input, missing package): one line for the CLI."""
