"""A BER sweep with a code in the loop: the decoder's output is what the network runs on."""

import pytest

from mrambnn.experiments import SweepConfig, run_ber_sweep


def test_secded_in_the_loop_protects_and_resumes(make_toy, tmp_path):
    net, images, labels = make_toy(64, 200)
    plain = run_ber_sweep(net, images, labels, SweepConfig(bers=(0.0, 2e-3), n_draws=3))
    out = tmp_path / "ecc.json"
    config = SweepConfig(bers=(0.0, 2e-3), n_draws=3, code="bch-dec-78-64")
    coded = run_ber_sweep(net, images, labels, config, out=out)
    # at 2e-3 a DEC code leaves almost nothing: accuracy equals the clean one
    assert coded.point(2e-3).summary().mean == pytest.approx(coded.point(0.0).accuracies[0])
    assert plain.point(0.0).accuracies == coded.point(0.0).accuracies
    again = run_ber_sweep(net, images, labels, config, out=out)
    assert again.point(2e-3).accuracies == coded.point(2e-3).accuracies
    with pytest.raises(ValueError, match="choose one of"):
        SweepConfig(code="reed-solomon")
