"""Imports every family module so that each registers its types."""

from . import activation, conv, dropout, linear, merge, norm, pad, pool, reshape, upsample  # noqa: F401
from . import keras  # noqa: F401,E402  (Keras names: framework: keras)
from . import interpolate, more_elementwise, permute, reduce, scale, split  # noqa: F401  (issue 11)
from . import fold  # noqa: F401,E402  (Unfold, Fold, FractionalMaxPool2d/3d)
