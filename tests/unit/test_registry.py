"""The registry on real packages and a real (fake) installed distribution: no backend, no mocks.

Each test writes a small component package under ``tmp_path``; plugins come from a ``*.dist-info``
directory on ``sys.path``, which ``importlib.metadata`` reads exactly as it reads an installed wheel.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeport._registry import Registry, resolve
from edgeport.errors import EdgeportError, PluginError, UnknownNameError

_COUNTER = iter(range(10_000))


class Widget:
    name = ""


@pytest.fixture()
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``make_package({"a": src, ...}, base=None) -> (registry, package dir)``: a fresh component package."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a rewritten module must be re-read, not its .pyc
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(modules: dict[str, str], base: type | None = None, kind: str = "widget") -> tuple[Registry, Path]:
        pkg = f"edgeport_test_pkg{next(_COUNTER)}"
        root = tmp_path / pkg
        root.mkdir()
        (root / "__init__.py").write_text("")
        for name, src in modules.items():
            (root / f"{name}.py").write_text(textwrap.dedent(src))
        importlib.invalidate_caches()
        package = importlib.import_module(pkg)
        package.REG = Registry(kind, pkg, base=base)  # what the component package's __init__ defines
        made.append(pkg)
        return package.REG, root

    yield make
    for mod in [m for m in sys.modules if m.split(".")[0] in made]:
        del sys.modules[mod]


def _component(cls: str, name: str) -> str:
    """A component module: registers class ``cls`` named ``name`` with its package's registry."""
    return textwrap.dedent(f"""
        import importlib
        REG = importlib.import_module(__name__.rpartition(".")[0]).REG

        @REG.register
        class {cls}:
            name = {name!r}
        """)


def test_loads_every_module_of_the_package(make_package) -> None:
    reg, _ = make_package({"alpha": _component("Alpha", "alpha"), "beta": _component("Beta", "beta"),
                           "base": "raise AssertionError('base is not a component module')",
                           "_private": "raise AssertionError('private modules are not component modules')"})
    assert reg.names() == ["alpha", "beta"]
    assert reg.get("beta").__name__ == "Beta"
    assert [c.name for c in reg.select(lambda c: c.name.startswith("a"))] == ["alpha"]


def test_a_failing_builtin_raises_with_its_traceback_and_the_next_lookup_retries(make_package) -> None:
    failing = _component("Beta", "beta") + "\nraise RuntimeError('bug in beta')\n"
    reg, root = make_package({"alpha": _component("Alpha", "alpha"), "beta": failing,
                              "gamma": _component("Gamma", "gamma")})
    with pytest.raises(RuntimeError, match="bug in beta") as info:
        reg.names()
    assert not isinstance(info.value, EdgeportError)  # an internal bug, not a user error
    assert any(Path(str(tb.path)).name == "beta.py" for tb in info.traceback)
    with pytest.raises(RuntimeError, match="bug in beta"):  # still not pretending to be complete
        reg.get("alpha")
    (root / "beta.py").write_text(_component("Beta", "beta"))  # the bug is fixed
    importlib.invalidate_caches()
    assert reg.names() == ["alpha", "beta", "gamma"]


def test_two_builtins_with_one_name_are_an_error_naming_both(make_package) -> None:
    reg, _ = make_package({"one": _component("First", "same"), "two": _component("Second", "same")})
    with pytest.raises(TypeError, match=r"registered twice .*one\.First.*two\.Second"):
        reg.names()


def test_a_component_must_be_a_named_subclass_of_the_base(make_package) -> None:
    reg, _ = make_package({}, base=Widget)

    class Named(Widget):
        name = "named"

    class Other:
        name = "other"

    class Nameless(Widget):
        pass

    assert reg.register(Named) is Named
    with pytest.raises(TypeError, match="not a Widget"):
        reg.register(Other)
    with pytest.raises(TypeError, match="non-empty class attribute 'name'"):
        reg.register(Nameless)


def test_looking_up_while_importing_is_refused(make_package) -> None:
    eager = """
        import importlib
        importlib.import_module(__name__.rpartition(".")[0]).REG.names()
        """
    reg, _ = make_package({"eager": eager})
    with pytest.raises(RuntimeError, match="looked up while its modules were importing"):
        reg.names()


def test_unknown_name_lists_the_known_ones(make_package) -> None:
    reg, _ = make_package({"alpha": _component("Alpha", "alpha")})
    with pytest.raises(UnknownNameError, match="unknown widget 'nope'.*use one of: alpha"):
        reg.get("nope")


def _install_distribution(site: Path, name: str, version: str, group: str, entries: dict[str, str],
                          modules: dict[str, str]) -> None:
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (dist / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    for mod, src in modules.items():
        (site / f"{mod}.py").write_text(textwrap.dedent(src))
    importlib.invalidate_caches()


def test_broken_plugins_do_not_break_the_builtins_and_say_which_entry_point(make_package, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    reg, _ = make_package({"alpha": _component("Alpha", "alpha")}, kind=f"gadget{next(_COUNTER)}")
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    plugin = f"""
        class Good:
            name = "good"

        class Impostor:
            name = "alpha"

        def helper():
            return None
        """
    tag = reg.kind
    _install_distribution(site, "fake-plugins", "1.0", f"edgeport.{reg.kind}s", {
        "good": f"{tag}_mod:Good",
        "bad": f"{tag}_bad:Bad",
        "notaclass": f"{tag}_mod:helper",
        "alpha": f"{tag}_mod:Impostor",
    }, {f"{tag}_mod": plugin, f"{tag}_bad": "import edgeport_no_such_module_anywhere\n"})
    try:
        assert reg.names() == ["alpha", "good"]
        assert reg.get("alpha").__module__.endswith(".alpha")  # the built-in keeps its name
        broken = {b.name: b for b in reg.broken()}
        assert sorted(broken) == ["alpha", "bad", "notaclass"]
        assert "already registered by" in broken["alpha"].reason
        assert "must be classes" in broken["notaclass"].reason
        assert broken["bad"].distribution == "fake-plugins 1.0"
        with pytest.raises(PluginError) as info:
            reg.get("bad")
        message = str(info.value)
        assert f"bad = {tag}_bad:Bad" in message and "fake-plugins 1.0" in message
        assert "edgeport_no_such_module_anywhere" in message and "\n" not in message
        assert isinstance(info.value.__cause__, ModuleNotFoundError)  # the plugin's own error, kept
        assert info.value.exit_code == 2
    finally:
        for mod in (f"{tag}_mod", f"{tag}_bad"):
            sys.modules.pop(mod, None)


def test_a_plugin_that_fails_after_registering_leaves_nothing_behind(make_package, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    reg, _ = make_package({}, kind=f"gizmo{next(_COUNTER)}")
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    tag = reg.kind
    half = f"""
        import importlib
        REG = importlib.import_module({reg.package!r}).REG

        @REG.register
        class Half:
            name = "half"

        raise ImportError("half-initialised plugin")
        """
    _install_distribution(site, "half-plugin", "0.1", f"edgeport.{tag}s", {"half": f"{tag}_half:Half"},
                          {f"{tag}_half": half})
    try:
        assert reg.names() == []
        assert [b.name for b in reg.broken()] == ["half"]
        with pytest.raises(PluginError, match="half-initialised plugin"):
            reg.get("half")
    finally:
        sys.modules.pop(f"{tag}_half", None)


def test_resolve_names_code_without_importing_it_early() -> None:
    assert resolve("edgeport.errors:PluginError") is PluginError
    with pytest.raises(ValueError, match="not 'module:attribute'"):
        resolve("edgeport.errors.PluginError")
