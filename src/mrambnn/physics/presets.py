"""Named MTJ presets, each with its source. Strings resolve here, at the edge."""

from mrambnn.physics.mtj import MTJ
from mrambnn.units import kohm, nm, ns, uA

__all__ = ["PRESETS", "get_preset"]

PRESETS: dict[str, MTJ] = {
    # Paper-era perpendicular CoFeB/MgO MTJ, 40 nm, delta 60: the defaults of
    # docs/physics.md section 6 (macrospin-consistent: Ms = 1.0 MA/m,
    # mu0 Hk_eff = 0.3 T, t_FL = 1.3 nm, alpha = 0.01 give delta ~ 59, ic0 ~ 50 uA,
    # tau_d ~ 1.9 ns), in the range of Ikeda et al., Nat. Mater. 9, 721 (2010).
    "pmtj-40nm": MTJ(
        delta=60.0, ic0_p2ap=60 * uA, ic0_ap2p=40 * uA, tau_d=2 * ns, tau0=1 * ns, b=2.0,
        r_p=4 * kohm, tmr0=1.5, v_h=0.5, diameter=40 * nm, temperature=300.0,
        source="macrospin-consistent 40 nm pMTJ (Ms 1.0 MA/m, mu0 Hk_eff 0.3 T, alpha 0.01); "
               "Ikeda et al., Nat. Mater. 9, 721 (2010) range"),
    # Ikeda et al., Nat. Mater. 9, 721 (2010): 40 nm CoFeB/MgO pMTJ with delta ~ 40,
    # Ic0 ~ 49 uA (one value for both directions), TMR ~ 120 %; tau_d from the macrospin
    # relation with alpha = 0.01 and mu0 Hk_eff = 0.3 T (not reported).
    "ikeda2010": MTJ(
        delta=40.0, ic0_p2ap=49 * uA, ic0_ap2p=49 * uA, tau_d=1.9 * ns, tau0=1 * ns, b=2.0,
        r_p=4 * kohm, tmr0=1.2, v_h=0.5, diameter=40 * nm, temperature=300.0,
        source="Ikeda et al., Nat. Mater. 9, 721 (2010): delta 40, Ic0 49 uA, TMR 120 %"),
    # Fitted to measured switching probability vs pulse duration (Rehm, Morshed et al.,
    # arXiv:2310.18779 (2023), Fig. 1a, 300 K; digitized points and R_P, R_AP from
    # JaredArz/Stochastic_MTJ_Model) by `mrambnn.physics.calibration.fit_switching` over
    # the shipped deltas 40-80: delta 40, ic0 51.60 uA, tau_d 1.691 ns reproduce all 26
    # points within 0.021 in probability (every delta of 40-80 fits within 0.025: the
    # curve does not pin delta down; ic0 and tau_d trade off along it). One ic0 for both
    # directions (the data has one direction); diameter not reported (40 nm assumed).
    "rehm2023-smtj": MTJ(
        delta=40.0, ic0_p2ap=51.60 * uA, ic0_ap2p=51.60 * uA, tau_d=1.6912 * ns, tau0=1 * ns,
        b=2.0, r_p=2.53 * kohm, tmr0=5849 / 2530 - 1, v_h=0.5, diameter=40 * nm,
        temperature=300.0,
        source="fit to Rehm, Morshed et al., arXiv:2310.18779 (2023) Fig. 1a (switching "
               "probability vs pulse duration, 300 K), mrambnn.physics.calibration"),
}


def get_preset(name: str) -> MTJ:
    """The preset called ``name``; ValueError naming the presets otherwise."""
    if name not in PRESETS:
        raise ValueError(f"unknown MTJ preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
