"""mrambnn: binarized neural networks whose weights live in error-prone ST-MRAM.

The package reads as the story of Hirtzlin et al. (NANOARCH 2019): an MTJ device
(`physics`) is written with a pulse and fails with some probability; the failures land
on the bit-packed weights of a binarized network (`memory`, `engine`); Monte Carlo
experiments measure accuracy, energy and area (`experiments`), drawn by `plots`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
