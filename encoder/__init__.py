"""OpenLIC training encoder: the float model, training, export and encoding.

>>> import encoder
>>> image, bit_depth = encoder.read_image("picture.png")      # doctest: +SKIP
>>> data = encoder.encode(image, bit_depth=bit_depth, bpp=0.5)  # doctest: +SKIP
"""

from encoder.pictures import read_image
from encoder.pipeline import encode, encode_detailed

__all__ = ["encode", "encode_detailed", "read_image"]
