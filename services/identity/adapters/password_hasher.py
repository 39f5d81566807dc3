"""PWD-4: argon2id hashes; the work runs in threads so the event loop keeps serving."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.identity.settings import IdentitySettings

T = TypeVar("T")


class Argon2Hasher:
    """Hash and verify with the parameters from settings."""

    def __init__(self, settings: IdentitySettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified when an account does not exist, so timing does not tell that it doesn't.
        self._dummy = self._hasher.hash("dummy-password-for-timing")
        # As many hashes at once as cores, not asyncio's default pool (cores + 4 threads):
        # more argon2 runs than cores only share the cores, and each one's 19 MiB evicts the
        # others' from the CPU caches: identity spent ~35 ms of CPU per 20 ms verification
        # with 16 logins in flight (bench/identity_login.py). Waiting requests queue here.
        self._threads = ThreadPoolExecutor(
            max_workers=len(os.sched_getaffinity(0)), thread_name_prefix="argon2"
        )

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when the password matches; a missing hash costs the same time as a real one."""
        return await self._run(self._verify, stored, password)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
