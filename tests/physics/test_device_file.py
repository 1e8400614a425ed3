"""Device files: every preset written and read back unchanged, both tables, and one-line
errors naming the file and the key."""

import pytest

from mrambnn.physics.device_file import device_toml, read_device, resolve_device
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.presets import PRESETS


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_written_preset_reads_back_as_the_same_device(tmp_path, name):
    path = tmp_path / "d.toml"
    path.write_text(device_toml(PRESETS[name], name))
    device = read_device(path)
    assert device.name == name and device.mtj == PRESETS[name]
    assert resolve_device(str(path)) == device and resolve_device(name).mtj == PRESETS[name]


def test_mtj_table_defaults_and_name_from_the_stem(tmp_path):
    path = tmp_path / "lab-junction.toml"
    path.write_text("[mtj]\ndelta = 55\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\ntau_d = 1.5e-9\n")
    device = read_device(path)
    assert device.name == "lab-junction"
    assert device.mtj == MTJ(delta=55.0, ic0_p2ap=7e-5, ic0_ap2p=5e-5, tau_d=1.5e-9)


def test_material_table_derives_the_macrospin_parameters(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('name = "cofeb"\n[material]\nms = 1.0e6\nmu0_hk_eff = 0.3\n'
                    "thickness = 1.3e-9\ndiameter = 40e-9\nalpha = 0.01\neta_p2ap = 0.5\n"
                    "eta_ap2p = 0.7\nra = 5e-12\ntmr0 = 1.5\n")
    device = read_device(path)
    expected = MTJ.from_material(ms=1.0e6, mu0_hk_eff=0.3, thickness=1.3e-9, diameter=40e-9,
                                 alpha=0.01, eta_p2ap=0.5, eta_ap2p=0.7, ra=5e-12, tmr0=1.5)
    assert device.name == "cofeb" and device.mtj == expected
    assert 50 < device.mtj.delta < 70  # the preset's documented macrospin numbers


@pytest.mark.parametrize(("text", "needle"), [
    ("[mtj]\ndelta = 55\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\ntau_d = 1.5e-9\nic0 = 1\n",
     "unknown key mtj.ic0"),
    ("[mtj]\ndelta = 55\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\n", "missing key mtj.tau_d (s"),
    ('[mtj]\ndelta = "high"\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\ntau_d = 1e-9\n',
     "mtj.delta must be a finite number"),
    ("[mtj]\ndelta = -5\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\ntau_d = 1e-9\n",
     "delta must be a finite number > 0"),
    ("[mtj]\ndelta = 55\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\ntau_d = 1e-9\nb = 3\n",
     "b must be in [1, 2]"),
    ("[cost]\nread_energy_per_bit = 1e-15\n", "unknown key cost"),
    ("name = 'x'\n", "exactly one table"),
    ("[mtj\n", "cannot read device file"),
])
def test_a_malformed_device_file_is_one_line_naming_the_key(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=None) as error:
        read_device(path)
    message = str(error.value)
    assert needle in message and "\n" not in message and str(path) in message


def test_an_unknown_device_names_the_presets_and_the_file_format():
    with pytest.raises(ValueError, match="pmtj-40nm.*device file"):
        resolve_device("stt-9000")
