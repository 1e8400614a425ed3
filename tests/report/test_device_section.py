"""How the device sections word their numbers: spans of time, and the verdict on the
co-design checks."""

import math

from mrambnn.experiments.codesign import CodesignResult, Design, Use
from mrambnn.report.device_section import _check_verdict
from mrambnn.report.formatting import duration


def test_durations_read_in_the_unit_a_reader_thinks_in() -> None:
    assert duration(41.0) == "41 s"
    assert duration(3.2 * 3600) == "3.2 h"
    assert duration(102 * 86400.0) == "102 d"
    assert duration(38 * 365.25 * 86400) == "38 y"
    assert duration(0.387) == "387 ms"
    assert duration(math.inf) == "never" and duration(None) == "n/a"


def _result(check: tuple[float, ...]) -> CodesignResult:
    design = Design(delta=40.0, ic0_p2ap=4e-5, widths=(1e-8, 1e-8), currents=(3e-5, 4e-5),
                    write_ber=1e-3, energy_per_bit=1e-12, cell_area_f2=30.0, refresh=1e4,
                    writes=1.0, write=1e-9, read=1e-6, compute=1e-8)
    return CodesignResult(use=Use(name="busy", rate=1.0, deployment=1.0), tolerable_ber=2e-3,
                          ones=0.5, per_delta=(design,), best=design, check=check, clean=0.9)


def test_a_check_beyond_the_tolerance_is_called_out() -> None:
    within = _check_verdict((_result((0.897, 0.896, 0.898)),))
    assert "Every check is within" in within[-1]
    beyond = _check_verdict((_result((0.880, 0.881, 0.879)),))
    assert "The check of busy is beyond the tolerated 0.5 point" in beyond[-1]
    assert "subset" in beyond[-1] and "finer BER grid" in beyond[-1]
