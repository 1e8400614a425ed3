"""The tiny main-job settings the report tests share."""

import pytest

from mrambnn.experiments import SweepConfig
from mrambnn.experiments.codesign import CodesignConfig
from mrambnn.experiments.device_study import DeviceStudyConfig
from mrambnn.experiments.energy_sweep import EnergySweepConfig
from mrambnn.experiments.layer_study import LayerStudyConfig
from mrambnn.experiments.lifetime import LifetimeConfig
from mrambnn.experiments.main_job import ImageNetStudyConfig, MainJobConfig
from mrambnn.experiments.topk_sweep import TopKConfig


@pytest.fixture(scope="session")
def tiny_config() -> MainJobConfig:
    """Two networks, five BERs, two draws, 300 images: the golden test's settings."""
    return MainJobConfig(
        models=("mnist-mlp", "bnn-pynq-cnv"),
        sweep=SweepConfig(bers=(0.0, 1e-5, 1e-3, 1e-2, 1e-1), n_draws=2, n_images=300),
        subsets=(("bnn-pynq-cnv", 100),), draws=(("bnn-pynq-cnv", 2),),
        workers=1,
        energy_sweep=EnergySweepConfig(width=10e-9, currents=(70e-6, 100e-6, 180e-6), n_draws=2,
                                       n_images=300),
        devices=DeviceStudyConfig(
            retention_deltas=(30.0, 40.0), spread_draws=2, spread_currents=None, wer_cells=2000,
            n_images=300,
            spread_lifetime=LifetimeConfig(deltas=(35.0,), times=(1e2, 1e5, 1e8), n_draws=2),
            codesign_models=("mnist-mlp",), codesign_draws=2,
            codesign=CodesignConfig(deltas=(30.0, 40.0, 60.0), widths=(1e-8, 1e-7),
                                    write_shares=(0.5, 0.9))),
        layers=LayerStudyConfig(
            sensitivity=SweepConfig(bers=(0.0, 1e-2, 1e-1), n_draws=2, n_images=200),
            sensitivity_models=("mnist-mlp",), protect_models=("mnist-mlp",), check_draws=2,
            check_images=200, error_aware=(("mnist-mlp", "mnist-mlp"),),  # the machinery
            error_aware_sweep=SweepConfig(bers=(0.0, 1e-2, 1e-1), n_draws=2, n_images=200)),
        imagenet=ImageNetStudyConfig(topk=TopKConfig(bers=(0.0, 1e-2), n_draws=2),
                                     n_images=100))
