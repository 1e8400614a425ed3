"""What the MRAM does to stored words: fault models (and, later, ECC, arrays, cost)."""

from mrambnn.memory.faults import BitFlip, FaultModel, flip_bits, sample_flip_positions

__all__ = ["BitFlip", "FaultModel", "flip_bits", "sample_flip_positions"]
