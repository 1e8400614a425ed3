"""ST-MRAM device physics: MTJ parameters, switching (write error rate), energy, area.

`switching` gives the exact macrospin write error rate (Fokker-Planck, all regimes);
`closed_forms` the Neel-Brown and Sun/Butler limits; `sllgs` a stochastic LLGS reference;
`energy` pulse energy, transistor width and cell area; `reliability` read disturb,
retention and sensing; `presets` named, cited MTJs.
"""

from mrambnn.physics.closed_forms import kramers_tau, wer_butler, wer_sun, wer_thermal
from mrambnn.physics.fokker_planck import FokkerPlanckGrid, fpe_wer
from mrambnn.physics.mtj import MTJ, WRITE_DIRECTIONS
from mrambnn.physics.switching import (
    current_for_wer,
    pulse_width_for_wer,
    reduced_ln_wer,
    reduced_wer,
    switching_table,
    write_error_rate,
)

__all__ = [
    "MTJ",
    "WRITE_DIRECTIONS",
    "FokkerPlanckGrid",
    "current_for_wer",
    "fpe_wer",
    "kramers_tau",
    "pulse_width_for_wer",
    "reduced_ln_wer",
    "reduced_wer",
    "switching_table",
    "wer_butler",
    "wer_sun",
    "wer_thermal",
    "write_error_rate",
]
