"""Use cases of the monitor's registry: load a version from files, show the current one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.registry_files import RegistryError, parse_registry
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.ports import MonitorUnitOfWork, RegistryVersionInfo
from clearwatch.services.shared.ports import Clock


@dataclass(frozen=True)
class RegistryLoadResult:
    """`version` is the current version after the load; `changed` says whether it is new."""

    loaded: bool
    version: int | None
    changed: bool
    errors: tuple[RegistryError, ...]


def load_registry(
    *,
    files: Mapping[str, bytes | None],
    source: str,
    actor: str,
    uow: MonitorUnitOfWork,
    clock: Clock,
) -> RegistryLoadResult:
    """Validate every file; store a new version only when the content changed; audit each load."""
    parsed = parse_registry(files)
    now = clock.now()
    with uow:
        if parsed.content is None:
            record_audit(
                uow,
                actor=actor,
                action=AuditAction.MONITOR_REGISTRY_REJECT,
                object_ref=f"registry-source:{source}",
                payload={"errors": [str(error) for error in parsed.errors[:20]]},
                recorded_at=now,
            )
            uow.commit()
            return RegistryLoadResult(False, None, False, parsed.errors)
        content = parsed.content
        current = uow.registry.current()
        unchanged = (
            current is not None and uow.registry.current_content_sha256() == content.content_sha256
        )
        version = (
            current.version
            if unchanged and current is not None
            else uow.registry.save_version(content, loaded_at=now, loaded_by=actor)
        )
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_REGISTRY_LOAD,
            object_ref=f"registry:{version}",
            payload={
                "source": source,
                "changed": not unchanged,
                "content_sha256": content.content_sha256,
                "institutions": len(content.institutions),
                "special_accounts": len(content.special_accounts),
                "holidays": len(content.holidays),
            },
            recorded_at=now,
        )
        uow.commit()
        return RegistryLoadResult(True, version, not unchanged, ())


def show_registry(
    *, uow: MonitorUnitOfWork
) -> tuple[RegistrySnapshot | None, list[RegistryVersionInfo]]:
    with uow:
        return uow.registry.current(), uow.registry.history()
