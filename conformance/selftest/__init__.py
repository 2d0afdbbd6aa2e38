"""Deliberately wrong decoders, to show that the conformance runner catches them.

See :mod:`conformance.selftest.decoders`; ``tests/test_conformance_runner.py`` runs
them.
"""
