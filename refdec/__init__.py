"""OpenLIC reference decoder (normative, integer-exact)."""
