"""What a server process loads: nothing its settings never use.

uvicorn starts each worker with multiprocessing's spawn method, which
imports the parent's main module again in the child: for ``usermgmt serve``
that is the ``usermgmt`` script, with typer, click and every command (about
3.5 MiB and 0.2 s per worker), when a worker needs only the application.
:func:`spawned_without_main` leaves it out.

A worker lives with one set of settings, so it can also leave out of memory
what they rule out. Two libraries load more than we use when they can:

- Litestar adds its pydantic plugins whenever pydantic can be imported, and
  pydantic is often installed beside us (typer 0.28+ requires it), but no
  schema of ours is a pydantic model: about 10 MiB per worker for nothing.
- PyJWT imports ``cryptography`` (its Rust core and its own OpenSSL: about
  10 MiB) whenever it is installed, for the asymmetric algorithms; a server
  that signs with HS256 secrets never uses them.

Both are left out by marking the module absent (``None`` in ``sys.modules``)
only while the library that would load it is imported or set up, so the
library goes without, as it does where the module is not installed; the
mark is removed afterwards and the process can import the module later
(``webauthn`` does, on the first passkey ceremony). An embedder whose code
has loaded the module already keeps what it has: nothing is taken away.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from usermgmt.settings import Settings


@contextmanager
def left_unloaded(name: str) -> Iterator[None]:
    """Make importing module *name* fail meanwhile, unless it is loaded already."""
    if name in sys.modules:
        yield
        return
    modules = cast("dict[str, object]", sys.modules)  # None there means "absent" to imports
    modules[name] = None
    try:
        yield
    finally:
        if name in modules and modules[name] is None:
            del modules[name]


def load_token_library(settings: Settings) -> None:
    """Import PyJWT as this process's keys need it: without ``cryptography`` for HS256.

    Call it only in a process that serves these *settings* alone (a worker,
    ``usermgmt serve``): PyJWT decides once, at its import, whether it has
    the asymmetric algorithms, and a process that went without them cannot
    sign or check an EdDSA token later. Settings with Ed25519 keys, or a
    process that has imported PyJWT or ``cryptography`` already, change
    nothing.
    """
    if settings.jwt_private_key or "jwt" in sys.modules:
        return
    with left_unloaded("cryptography"):
        importlib.import_module("jwt")


@contextmanager
def spawned_without_main(*, active: bool = True) -> Iterator[None]:
    """Meanwhile (if *active*), processes spawned by multiprocessing skip this one's main module.

    multiprocessing's spawn method sees an empty main module, so a spawned
    worker imports only what unpickling its work needs. Meant for the time
    uvicorn's supervisor runs; the real main module is back afterwards.
    """
    if not active:
        yield
        return
    script = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = script
