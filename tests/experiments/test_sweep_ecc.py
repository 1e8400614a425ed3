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


def test_bch_in_the_loop_at_high_ber_decodes_every_word_and_matches_a_direct_decode(make_toy):
    """At raw BER 0.03 and 0.1 most 78-bit words hold more than t = 2 errors: every one goes
    through the compiled decoder, and each draw equals storing its words by hand."""
    import numpy as np

    from mrambnn.engine import accuracy
    from mrambnn.experiments.draws import draw_rng
    from mrambnn.memory.ecc_channel import store_with_code

    net, images, labels = make_toy(64, 200)
    config = SweepConfig(bers=(0.03, 0.1), n_draws=2, code="bch-dec-78-64")
    result = run_ber_sweep(net, images, labels, config)
    for ber in config.bers:
        for draw, found in enumerate(result.point(ber).accuracies):
            rng = draw_rng(config.seed, ber, draw)
            words = []
            for layer in net.layers:
                decoded, counts = store_with_code(layer.weight_words, "bch-dec-78-64", ber,
                                                  rng=rng)
                assert counts.detected + counts.miscorrected > 0
                words.append(decoded & _valid(layer))
            assert found == accuracy(net.with_weight_words(words), images, labels)
    assert np.mean(result.point(0.1).accuracies) < np.mean(result.point(0.03).accuracies)


def _valid(layer):
    from mrambnn.bits import valid_bit_mask

    return valid_bit_mask(layer.in_features)


def test_estimate_counts_the_words_the_decoder_must_see(make_toy):
    from scipy.stats import binom

    from mrambnn.experiments.sweep_estimate import estimate_sweep

    net, images, _ = make_toy(64, 200)
    plain = estimate_sweep(net, images, SweepConfig(bers=(0.0, 0.03), n_draws=4))
    assert plain.n_draws == 5 and plain.decoded_words == 0 and plain.decode_seconds == 0
    assert plain.seconds == pytest.approx(5 * plain.pass_seconds)
    coded = estimate_sweep(net, images, SweepConfig(bers=(0.03,), n_draws=4,
                                                    code="bch-dec-78-64"))
    n_messages = sum(layer.weight_words.size for layer in net.layers)
    assert coded.decoded_words == pytest.approx(4 * n_messages * binom.sf(2, 78, 0.03))
    assert coded.decode_seconds > 0
    assert "bch-dec-78-64 decoder" in coded.message("bch-dec-78-64")
