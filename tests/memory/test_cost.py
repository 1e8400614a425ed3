"""Cost model: sourced defaults, TOML overrides, unknown keys, and the energy arithmetic."""

import re
from dataclasses import fields

import pytest

from mrambnn.memory.cost import SOURCES, CostConfig, load_cost_config, system_cost


def test_every_default_has_a_source():
    """Each default names where it comes from: a publication (its year), or says that it
    is an estimate, an assumption or derived."""
    assert {f.name for f in fields(CostConfig)} == set(SOURCES)
    for name, text in SOURCES.items():
        assert re.search(r"\b(19|20)\d\d\b|estimate|assumption|derived", text), name


def test_toml_overrides_each_key_and_rejects_unknown_ones(tmp_path):
    for f in fields(CostConfig):
        value = 4096.0 if f.name == "macro_data_bits" else 0.25
        file = tmp_path / f"{f.name}.toml"
        file.write_text(f"[cost]\n{f.name} = {value}\n")
        assert getattr(load_cost_config(file), f.name) == value
    top_level = tmp_path / "flat.toml"
    top_level.write_text("read_energy_per_bit = 1e-13\n")
    assert load_cost_config(top_level).read_energy_per_bit == 1e-13
    bad = tmp_path / "bad.toml"
    bad.write_text("[cost]\nread_energy = 1e-13\n")
    with pytest.raises(ValueError, match="unknown cost parameter.*read_energy_per_bit"):
        load_cost_config(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_cost_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match=">= 0"):
        load_cost_config(None, read_energy_per_bit=-1.0)


def test_energy_and_area_add_up():
    config = CostConfig(reads_per_write=10.0)
    none = system_cost(n_synapses=6400, code="none", write_energy_per_bit=1e-12,
                       cell_area_f2=50.0, config=config)
    assert none.stored_bits == 6400
    assert none.write == pytest.approx(6400e-12)
    assert none.read == pytest.approx(10 * 6400 * config.read_energy_per_bit)
    assert none.decode == none.encode == none.logic_area == 0
    assert none.cell_area == pytest.approx(6400 * 50 * config.feature**2)
    secded = system_cost(n_synapses=6400, code="secded-72-64", write_energy_per_bit=1e-12,
                         cell_area_f2=50.0, config=config)
    assert secded.stored_bits == 7200  # 100 words of 72 bits
    assert secded.decode == pytest.approx(10 * 100 * 64 * 10e-15)
    assert secded.total_energy > none.total_energy and secded.total_area > none.total_area
    dec = system_cost(n_synapses=6400, code="bch-dec-78-64", write_energy_per_bit=1e-12,
                      cell_area_f2=50.0, config=config)
    assert dec.decode == pytest.approx(4 * secded.decode)  # t^2 scaling
    padded = system_cost(n_synapses=6000, data_bits=6400, code="none",
                         write_energy_per_bit=1e-12, cell_area_f2=50.0, config=config)
    assert padded.stored_bits == 6400 and padded.compute < none.compute
    with pytest.raises(ValueError, match="data_bits"):
        system_cost(n_synapses=10, data_bits=5, code="none", write_energy_per_bit=1e-12,
                    cell_area_f2=50.0, config=config)
