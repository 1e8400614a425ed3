"""What the report says about a sweep: a small rise above the clean accuracy is named and
judged against its interval."""

from mrambnn.experiments.ber_sweep import BerPoint, SweepConfig, SweepResult
from mrambnn.report.main_report import _rise_note


def _sweep(*points: tuple[float, tuple[float, ...]]) -> SweepResult:
    return SweepResult(config=SweepConfig(bers=tuple(b for b, _ in points), n_draws=3),
                       model={}, points=tuple(BerPoint(ber=b, accuracies=a) for b, a in points))


def test_a_rise_within_the_interval_is_called_noise() -> None:
    note = _rise_note(_sweep((0.0, (0.9873,)), (1e-3, (0.9877, 0.9870, 0.9884)),
                             (1e-2, (0.98, 0.97, 0.975))))
    assert "slightly above the clean 98.73 % at BER 0.001" in note[-1]
    assert "within its interval: noise, not a gain" in note[-1]


def test_a_rise_beyond_the_interval_is_said_so() -> None:
    note = _rise_note(_sweep((0.0, (0.9873,)), (1e-4, (0.9880, 0.9881, 0.9882))))
    assert "at BER 0.0001 the whole interval is above clean" in note[-1]


def test_no_rise_no_note() -> None:
    assert _rise_note(_sweep((0.0, (0.9,)), (1e-3, (0.89, 0.88, 0.89)))) == []
