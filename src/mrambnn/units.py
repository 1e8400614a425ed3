"""SI multipliers and physical constants.

Everything inside mrambnn is in SI units; these names make call sites readable:
``width=5 * ns``, ``current=60 * uA``.
"""

__all__ = [
    "ns", "ps", "us", "ms", "s",
    "uA", "mA", "A",
    "fJ", "pJ", "nJ", "J",
    "nm", "um", "m",
    "fF", "ohm", "kohm", "V", "mV", "T",
    "K_B", "Q_E", "HBAR", "MU0", "GAMMA_E",
]

s = 1.0
ms = 1e-3
us = 1e-6
ns = 1e-9
ps = 1e-12

A = 1.0
mA = 1e-3
uA = 1e-6

J = 1.0
nJ = 1e-9
pJ = 1e-12
fJ = 1e-15

m = 1.0
um = 1e-6
nm = 1e-9

fF = 1e-15
ohm = 1.0
kohm = 1e3
V = 1.0
mV = 1e-3
T = 1.0  # tesla

K_B = 1.380649e-23  # Boltzmann constant, J/K (exact, SI 2019)
Q_E = 1.602176634e-19  # elementary charge, C (exact, SI 2019)
HBAR = 1.054571817e-34  # reduced Planck constant, J s
MU0 = 1.25663706212e-6  # vacuum permeability, N/A^2
GAMMA_E = 1.76085963023e11  # electron gyromagnetic ratio, rad/(s T)
