"""Data files of the reference decoder: entropy tables (``*.olt``, Annex B) and the
shipped parameter sets (``*.olp``, Annex C)."""
