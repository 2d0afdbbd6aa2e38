"""OpenLIC training encoder: the float model, training, export and encoding."""
