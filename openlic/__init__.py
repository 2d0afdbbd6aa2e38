"""OpenLIC command-line tool and demo.

The codec itself lives in three packages: :mod:`refdec` (the normative, integer-exact
reference decoder; no PyTorch), :mod:`encoder` (the training encoder; needs the
``train`` extra) and :mod:`conformance` (the conformance suite). This package holds
the ``openlic`` command (:mod:`openlic.cli`), the quick-start demo
(:mod:`openlic.demo`) and small helpers shared by them.
"""

__version__ = "0.1.0"
