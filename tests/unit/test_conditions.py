"""Recorded conditions read the machine right: ISA flags from /proc/cpuinfo, the cpufreq governor from sysfs.

Each test writes a fake ``/proc/cpuinfo`` / cpufreq tree and points the module at it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeport.bench import conditions

ZEN4_FLAGS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
              "syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl cpuid pni pclmulqdq ssse3 fma "
              "cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm bmi1 avx2 smep bmi2 erms "
              "avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt "
              "xsavec xgetbv1 xsaves avx512_bf16 clzero umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni "
              "avx512_bitalg avx512_vpopcntdq rdpid fsrm")
GRAVITON3_FEATURES = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma "
                      "lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp "
                      "svei8mm svebf16 i8mm bf16 dgh rng")


def _cpuinfo(tmp_path: Path, blocks: list[dict[str, str]]) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text("\n".join("".join(f"{k}\t: {v}\n" for k, v in b.items()) for b in blocks))
    return path


@pytest.fixture()
def fake_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the module at ``tmp_path``: returns (cpuinfo path, cpufreq dir); neither exists yet."""
    cpuinfo = tmp_path / "proc" / "cpuinfo"
    cpufreq = tmp_path / "sys" / "devices" / "system" / "cpu" / "cpu0" / "cpufreq"
    monkeypatch.setattr(conditions, "_CPUINFO", cpuinfo)
    monkeypatch.setattr(conditions, "_CPUFREQ", cpufreq)
    cpuinfo.parent.mkdir(parents=True)
    return cpuinfo, cpufreq


def test_avx512_vnni_bf16_machine_records_every_flag(fake_machine):
    cpuinfo, _ = fake_machine
    block = {"processor": "0", "vendor_id": "AuthenticAMD", "model name": "AMD EPYC 9R14 96-Core Processor",
             "cpu MHz": "2600.000", "flags": ZEN4_FLAGS}
    _cpuinfo(cpuinfo.parent, [block, {**block, "processor": "1", "flags": "avx2"}])  # the first block counts
    rec = conditions.capture(sample_s=0)
    assert rec.isa_flags == ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16")
    assert rec.isa_source == str(cpuinfo)
    assert rec.cpu_model == "AMD EPYC 9R14 96-Core Processor"
    assert "avx512_vnni" in rec.summary_line()


def test_arm_features_are_read_from_the_features_line(fake_machine):
    cpuinfo, _ = fake_machine
    _cpuinfo(cpuinfo.parent, [{"processor": "0", "BogoMIPS": "2100.00", "Features": GRAVITON3_FEATURES,
                               "CPU implementer": "0x41", "CPU part": "0xd40"}])
    assert conditions.isa_flags() == ("asimd", "asimdhp", "asimddp", "i8mm", "bf16", "sve")


def test_amx_and_avx_vnni_are_recorded(fake_machine):
    cpuinfo, _ = fake_machine
    _cpuinfo(cpuinfo.parent, [{"processor": "0", "model name": "Intel Xeon", "flags":
                               "avx2 avx_vnni avx512f avx512_fp16 amx_bf16 amx_tile amx_int8"}])
    assert conditions.isa_flags() == ("avx2", "avx512f", "avx512_fp16", "avx_vnni", "amx_tile", "amx_int8",
                                      "amx_bf16")


def test_without_cpuinfo_the_flags_come_from_numpy_and_say_so(fake_machine):
    rec = conditions.capture(sample_s=0)  # the fake /proc/cpuinfo does not exist
    assert rec.isa_source == "numpy run-time detection"
    assert set(rec.isa_flags) <= set(conditions.ISA_FLAGS_OF_INTEREST)


def test_governor_is_read_from_cpufreq(fake_machine):
    _, cpufreq = fake_machine
    cpufreq.mkdir(parents=True)
    (cpufreq / "scaling_governor").write_text("performance\n")
    (cpufreq / "scaling_cur_freq").write_text("3700000\n")
    rec = conditions.capture(sample_s=0)
    assert (rec.governor, rec.governor_note) == ("performance", "")
    assert rec.frequency_mhz == 3700.0
    assert "governor performance" in rec.summary_line()


def test_governor_without_cpufreq_is_unavailable_with_the_reason(fake_machine, monkeypatch: pytest.MonkeyPatch):
    _, cpufreq = fake_machine
    monkeypatch.setattr(conditions.platform, "system", lambda: "Linux")
    rec = conditions.capture(sample_s=0)
    assert rec.governor == conditions.GOVERNOR_UNAVAILABLE
    assert str(cpufreq) in rec.governor_note and "does not exist" in rec.governor_note
    assert "governor unavailable" in rec.summary_line()


def test_unreadable_or_empty_governor_is_unavailable_never_empty(fake_machine):
    _, cpufreq = fake_machine
    cpufreq.mkdir(parents=True)
    (cpufreq / "scaling_governor").mkdir()  # reading it fails with an OSError, as a permission error would
    gov, note = conditions.governor()
    assert gov == conditions.GOVERNOR_UNAVAILABLE and note.startswith("cannot read ")
    (cpufreq / "scaling_governor").rmdir()
    (cpufreq / "scaling_governor").write_text("\n")
    gov, note = conditions.governor()
    assert gov == conditions.GOVERNOR_UNAVAILABLE and note.endswith("is empty")
