"""`MRAM`: an array of MTJs that stores packed words with a given write pulse."""

from dataclasses import dataclass

import numpy as np

from mrambnn.memory.write_faults import WriteFailure
from mrambnn.physics.energy import WriteCircuit, pulse_energy
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import write_error_rate

__all__ = ["MRAM", "WritePulseCondition"]


@dataclass(frozen=True, kw_only=True)
class WritePulseCondition:
    """One write pulse applied to every cell in the direction of its target bit.

    Attributes:
        current: write current, A (the same driver for both directions).
        width: pulse width, s.
    """

    current: float
    width: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.current) and self.current > 0):
            raise ValueError(f"write current must be > 0 A, got {self.current}")
        if not (np.isfinite(self.width) and self.width > 0):
            raise ValueError(f"pulse width must be > 0 s, got {self.width}")


@dataclass(frozen=True, kw_only=True)
class MRAM:
    """A 1T1R ST-MRAM array: bit 1 (weight +1) stored as P, bit 0 as AP.

    Attributes:
        mtj: the junction of every cell.
        circuit: write path (supply, bit line, transistor).
        prior: content before programming: 'random', 'reset' or 'previous' (see
            `WriteFailure`).
    """

    mtj: MTJ
    circuit: WriteCircuit = WriteCircuit()
    prior: str = "random"

    def write_error_rates(self, pulse: WritePulseCondition) -> tuple[float, float]:
        """(WER of AP->P writes, WER of P->AP writes) for ``pulse``."""
        ap2p = float(write_error_rate(self.mtj, current=pulse.current, width=pulse.width,
                                      direction="ap2p"))
        p2ap = float(write_error_rate(self.mtj, current=pulse.current, width=pulse.width,
                                      direction="p2ap"))
        return ap2p, p2ap

    def fault(self, pulse: WritePulseCondition) -> WriteFailure:
        """The write-failure channel this pulse creates."""
        ap2p, p2ap = self.write_error_rates(pulse)
        return WriteFailure(wer_ap2p=ap2p, wer_p2ap=p2ap, prior=self.prior)  # type: ignore[arg-type]

    def energy_per_bit(self, pulse: WritePulseCondition) -> float:
        """Write energy per stored bit, J: every cell receives one pulse."""
        return pulse_energy(self.circuit, current=pulse.current, width=pulse.width)

    def store(self, words: np.ndarray, n_bits: int, pulse: WritePulseCondition, *,
              rng: np.random.Generator) -> np.ndarray:
        """What the array holds after programming ``words`` (rows, n_words) with ``pulse``."""
        return self.fault(pulse).corrupt(words, n_bits, rng=rng)
