"""Device catalog: every shipped profile parses and sources its values; bad input is named precisely."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from edgeport.core.target import get_target, list_targets, load_target_file, targets_dirs
from edgeport.errors import ConfigError, UnknownNameError

REQUIRED = {"stm32f446", "stm32f746", "stm32h743", "alif-e7", "esp32-s3", "rpi4", "rpi5", "jetson-orin-nano",
            "coral-edgetpu", "pixel-8", "galaxy-s24", "iphone-15-pro", "mac-m2", "browser-wasm", "host"}
SHIPPED = sorted(targets_dirs()[0].glob("*.toml"))


def test_required_profiles_present():
    ids = {t.id for t in list_targets()}
    assert REQUIRED <= ids


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_table_with_values_names_its_source(path: Path):
    target = load_target_file(path)
    assert target.id == path.stem
    data = tomllib.loads(path.read_text())

    def walk(table: dict, where: str) -> None:
        values = [k for k, v in table.items() if not isinstance(v, (dict, list)) or k in ("isa",)]
        values = [k for k in values if k not in ("source", "sources")]
        if where and values:
            assert isinstance(table.get("source"), str) and table["source"], f"{path.name}:{where} has no source"
        for k, v in table.items():
            if isinstance(v, dict) and k != "sources":
                walk(v, f"{where}.{k}".strip("."))
            if isinstance(v, list) and v and isinstance(v[0], dict):
                for i, item in enumerate(v):
                    walk(item, f"{where}.{k}[{i}]".strip("."))

    walk(data, "")
    for table in ("cpu", "memory", "power"):
        assert target.source_of(f"{table}.x")
    for acc in target.accelerators:
        assert acc.source and acc.peak_macs
    assert target.paths, "every profile names its execution paths"


def test_alias_estimates_and_host():
    assert get_target("cortex-m7").id == "stm32h743"
    assert get_target("CORTEX-M4").id == "stm32f446"
    iphone = get_target("iphone-15-pro")
    assert iphone.memory.app_limit_bytes is not None and iphone.memory.app_limit_bytes < 2 << 30
    assert "estimate" in iphone.source_of("memory.app_limit_bytes")
    host = get_target("host")
    import os

    assert host.cpu.cores == os.cpu_count()
    assert host.memory.ram_bytes and host.memory.ram_bytes > 1 << 28
    from edgeport.core.target import _cpu_mhz, _full_width_avx512, _isa_macs_per_cycle

    mhz, rates = _cpu_mhz(), _isa_macs_per_cycle(host.cpu.isa, full_width_avx512=_full_width_avx512())
    per_core = rates["float32"] * mhz * 1e6 if mhz and rates else 58.35e9  # ISA × clock, else the template's
    assert host.cpu.peak_macs["float32"] == pytest.approx(per_core * host.cpu.cores)
    assert "MHz" in host.cpu.source or "unknown" in host.cpu.source


def test_isa_peaks_reproduce_the_reference_measurement():
    from edgeport.core.target import _isa_macs_per_cycle

    zen4 = _isa_macs_per_cycle(("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"))
    assert zen4 is not None
    # the template's figures were measured on a Zen4 core at ~3.7 GHz: 58.35 G fp32, 234.5 G int8 MAC/s
    assert zen4["float32"] * 3.7e9 == pytest.approx(58.35e9, rel=0.03)
    assert zen4["int8"] * 3.7e9 == pytest.approx(234.5e9, rel=0.03)
    avx2 = _isa_macs_per_cycle(("avx", "avx2", "fma"))
    assert avx2 == {"float32": 16.0, "int8": 32.0, "bfloat16": 16.0}  # no VNNI: int8 only 2× fp32, bf16 emulated
    # Zen5 runs the same instructions on two full-width 512-bit pipes: twice Zen4's rate per cycle
    zen5 = _isa_macs_per_cycle(("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni"),
                               full_width_avx512=True)
    assert zen5 == {"float32": 32.0, "int8": 128.0, "bfloat16": 64.0}
    assert _isa_macs_per_cycle(("avx", "avx2", "fma"), full_width_avx512=True) == avx2  # no AVX-512: no wide pipes
    assert _isa_macs_per_cycle(("x86_64",)) is None


def test_unknown_target_lists_known():
    with pytest.raises(UnknownNameError) as err:
        get_target("pixel-99")
    assert "pixel-8" in str(err.value) and "cortex-m7→stm32h743" in str(err.value)


def _profile(text_id: str = "my-board") -> str:
    return (SHIPPED[0].parent / "stm32f446.toml").read_text().replace('id = "stm32f446"', f'id = "{text_id}"') \
        .replace('aliases = ["cortex-m4", "stm32f4"]', "aliases = []")


def test_user_directory_adds_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "my-board.toml").write_text(_profile())
    monkeypatch.setenv("EDGEPORT_TARGETS", str(tmp_path))
    assert get_target("my-board").cpu.freq_mhz == 180
    other = tmp_path / "more"
    other.mkdir()
    (other / "b2.toml").write_text(_profile("b2"))
    assert get_target("b2", [other]).id == "b2"


def test_malformed_toml_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text(_profile().replace("cores = 1", "cores = = 1"))
    with pytest.raises(ConfigError) as err:
        load_target_file(bad)
    line = next(i for i, s in enumerate(bad.read_text().splitlines(), 1) if "cores = = 1" in s)
    assert "bad.toml" in str(err.value) and f"line {line}" in str(err.value)


@pytest.mark.parametrize("edit,field", [
    (("freq_mhz = 180", 'freq_mhz = "fast"'), "cpu.freq_mhz"),
    (('kind = "mcu"', 'kind = "toaster"'), "kind"),
    (('paths = ["tflm"]', 'paths = ["warp-drive"]'), "paths"),
    (("int8 = 3.6e8", "int7 = 3.6e8"), "cpu.peak_macs.int7"),
])
def test_malformed_field_is_named(tmp_path: Path, edit: tuple[str, str], field: str):
    bad = tmp_path / "bad.toml"
    bad.write_text(_profile().replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_target_file(bad)
    assert f"'{field}'" in str(err.value) and "bad.toml" in str(err.value)


def test_missing_source_is_rejected(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    text = _profile()
    start = text.index("[memory]\nsource")
    end = text.index("\n", start + 9)
    bad.write_text(text[:start + 9] + text[end + 1:])
    with pytest.raises(ConfigError, match="memory.source"):
        load_target_file(bad)


@pytest.mark.parametrize("field,expected", [
    ('agent = "http://127.0.0.1:8787"', "agent://127.0.0.1:8787"), ('measure = "browser"', "browser"), ("", "")])
def test_a_profile_names_the_device_that_measures_it(tmp_path: Path, field: str, expected: str):
    good = tmp_path / "board.toml"
    good.write_text(field + "\n" + _profile())
    assert load_target_file(good).measured_by == expected


@pytest.mark.parametrize("field,problem", [('agent = "127.0.0.1:8787"', "must be 'http://HOST:PORT'"),
                                           ('agent = "http://h:1"\nmeasure = "browser"', "are both given")])
def test_a_bad_measuring_device_is_named(tmp_path: Path, field: str, problem: str):
    bad = tmp_path / "bad.toml"
    bad.write_text(field + "\n" + _profile())
    with pytest.raises(ConfigError, match=problem):
        load_target_file(bad)


def test_devices_cli_json():
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    res = CliRunner().invoke(app, ["devices", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    ids = {d["id"] for d in doc["data"]["devices"]}
    assert REQUIRED <= ids


@pytest.mark.parametrize("edit,problem", [
    (("far_memory = 1.5", "far_memory = -1.5"), "must be a non-negative number, got -1.5"),
    (("strided_softmax = 0.005", "strided_softmaxes = 0.005"), "is not an op class"),
])
def test_a_bad_predictor_term_is_named(tmp_path: Path, edit: tuple[str, str], problem: str):
    """The host profile's [predictor] table with one term broken: the error names the field, the file and why."""
    text = (targets_dirs()[0] / "host.toml").read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_target_file(bad)
    assert "predictor" in str(err.value) and "bad.toml" in str(err.value) and problem in str(err.value)
