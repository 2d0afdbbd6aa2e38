"""OpenLIC conformance suite (WD Annex D).

* ``conformance/suite/``: the cases, each a codestream (``ID.olic``), its description
  (``ID.json``, validated by ``case.schema.json``) and, for the cases that decode, the
  expected picture (``ID.png``); ``index.json`` lists them and maps every requirement of
  codestream conformance of the WD to its negative cases.
* :mod:`conformance.generate`: rebuilds the suite (``python -m conformance.generate``).
* :mod:`conformance.runner`: runs a decoder over the suite, a program through a command
  template (``openlic conformance run --decoder "CMD {input} {output}"``) or a Python
  function in-process, and writes JSON and JUnit XML reports.
* :mod:`conformance.requirements`: the requirements of codestream conformance of the WD
  and their stable ids.
* :mod:`conformance.float_decoder`: a floating-point decoder (the tolerance class).
* :mod:`conformance.selftest`: deliberately wrong decoders the runner must catch.
* :mod:`conformance.coverage` and :mod:`conformance.mutation`: how much of the
  reference decoder the suite exercises, and how many of its mutants it catches.
"""
