"""OpenLIC conformance suite (WD Annex D).

This package will hold the conformance codestreams, each with the SHA-256 hash of the
picture that the decoding process of WD clause 8 gives for it, and the tools that run
a decoder, the reference decoder or a third-party one, on all of them and report the
result (``openlic conformance``). It is being written; nothing here is usable yet.
"""
