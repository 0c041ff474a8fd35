"""The public client is declared and typed: mypy follows every call, and help() shows real signatures."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import floe
from floe.client import _access, _compat, _copy, _discover, _operations, _sharing, _trash

ROOT = Path(__file__).resolve().parents[1]
OPERATION_MODULES = (_operations, _access, _trash, _sharing, _copy, _discover, _compat)


def _mypy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".cache" / "mypy"),
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,  # a cold cache on a busy 2-core machine: minutes
    )


def _flows() -> dict[str, object]:
    """Every public flow (a generator function) defined in the client's operation modules."""
    found = {}
    for module in OPERATION_MODULES:
        for node in ast.parse(inspect.getsource(module)).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                fn = getattr(module, node.name)
                if inspect.isgeneratorfunction(fn):
                    found[node.name] = fn
    return found


def test_the_client_packages_are_clean_under_mypy():
    result = _mypy()  # [tool.mypy] files: src/floe/client and src/floe/models
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_user_script_type_checks_with_real_return_types(tmp_path):
    good = ROOT / "tests" / "typing" / "user_script.py"
    # and the types are real, not Any: mistakes a user makes are reported (both files in one mypy run)
    bad = tmp_path / "mistakes.py"
    bad.write_text(
        textwrap.dedent(
            """
            import floe

            async def f(c: floe.Client, a: floe.AsyncClient) -> None:
                c.get_repo(3)
                c.get_repoo("default/x")
                count: int = c.list_orgs()
                repo = a.get_repo("default/x")
                repo.readonly_session("main")
            """
        )
    )
    result = _mypy(str(good), str(bad))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "user_script.py" not in out, out  # the good script is clean
    assert 'Argument 1 has incompatible type "int"; expected "str"' in out
    assert '"Client" has no attribute "get_repoo"' in out
    assert 'expression has type "list[Org]", variable has type "int"' in out
    assert '"Coroutine[Any, Any, FloeRepository]" has no attribute "readonly_session"' in out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 4 and all("mistakes.py" in line for line in errors), out  # those, no others


def test_every_operation_is_declared_on_both_clients_with_its_signature():
    flows = _flows()
    assert len(flows) > 60
    for name, flow in flows.items():
        for cls in (floe.Client, floe.AsyncClient):
            assert name in vars(cls), f"{cls.__name__}.{name} is not declared in the class body"
            method = vars(cls)[name]
            params = list(inspect.signature(method).parameters.values())
            assert params[0].name == "self"
            assert params[1:] == list(inspect.signature(flow).parameters.values()), name
            assert method.__doc__ == flow.__doc__
        assert inspect.iscoroutinefunction(vars(floe.AsyncClient)[name])


def test_help_shows_the_real_signature_and_return_type():
    text = pydoc_text(floe.Client.get_repo)
    assert "get_repo(self, /, name: 'str', *, checkout" in text
    assert "-> 'FloeRepository'" in text
    assert "Open a repo by name with one request to the catalog." in text
    assert "async list_repos" in pydoc_text(floe.AsyncClient.list_repos)


def pydoc_text(obj: object) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


@pytest.mark.parametrize(
    "statement, absent",
    [
        ("import floe", ("icechunk", "zarr", "boto3", "botocore", "rich", "azure", "google", "httpx")),
        ("import floe.client", ("icechunk", "zarr", "numpy", "boto3", "botocore", "azure", "google")),
    ],
)
def test_importing_floe_loads_no_heavy_libraries(statement, absent):
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert not loaded & set(absent), f"{statement} loads {sorted(loaded & set(absent))}"
