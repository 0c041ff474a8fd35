"""Client methods made from flows: one implementation per operation, two typed faces.

``blocking(flow)`` is a :class:`~floe.client.Client` method that runs the flow with blocking I/O,
``awaitable(flow)`` an :class:`~floe.client.AsyncClient` coroutine method. Both keep the flow's
parameters for type checkers (``ParamSpec``) and for ``help()`` / editors (``__signature__``), with
the flow's ``Flow[T]`` return shown as ``T``.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from floe.client._transport import Flow

if TYPE_CHECKING:
    from floe.client import AsyncClient, Client

P = ParamSpec("P")
R = TypeVar("R")

_FLOW_RETURN = re.compile(r"^Flow\[(.*)\]$", re.DOTALL)


def _method_signature(flow: Callable[..., Any]) -> inspect.Signature:
    """The flow's signature with ``self`` first and ``Flow[T]`` shown as ``T``."""
    signature = inspect.signature(flow)
    returns = signature.return_annotation
    if isinstance(returns, str) and (match := _FLOW_RETURN.match(returns)):
        returns = match.group(1)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return signature.replace(
        parameters=[self_param, *signature.parameters.values()], return_annotation=returns
    )


def _describe(method: Callable[..., Any], flow: Callable[..., Any]) -> None:
    functools.update_wrapper(method, flow)
    del method.__wrapped__  # type: ignore[attr-defined]  # help() would show the flow's signature
    method.__signature__ = _method_signature(flow)  # type: ignore[attr-defined]


def blocking(flow: Callable[P, Flow[R]]) -> Callable[Concatenate[Client, P], R]:
    """A :class:`Client` method that runs ``flow`` with blocking I/O."""

    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._drive(flow(*args, **kwargs))

    _describe(method, flow)
    return method


def awaitable(flow: Callable[P, Flow[R]]) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]:
    """An :class:`AsyncClient` coroutine method that runs ``flow`` with asyncio."""

    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._drive(flow(*args, **kwargs))

    _describe(method, flow)
    return method
