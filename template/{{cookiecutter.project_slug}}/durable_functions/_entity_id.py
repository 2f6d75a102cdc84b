"""Entity ids: an entity's name and key, and the scheduler id the host knows it by."""

from __future__ import annotations

__all__ = ["EntityId"]


class EntityId:
    """Identifies an entity by its name and its key.

    Unlike the reference, ids are hashable (``__hash__`` agrees with ``__eq__``), so
    they can key a dict or live in a set.
    """

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

    __slots__ = ("key", "name")

    def __init__(self, name: str, key: str) -> None:
        if name == "":
            raise ValueError("Entity name cannot be empty")
        if key == "":
            raise ValueError("Entity key cannot be empty")
        self.name: str = name
        self.key: str = key

    @staticmethod
    def get_scheduler_id(entity_id: EntityId) -> str:
        """The instance id the host uses for the entity: ``@<name lowercased>@<key>``."""
        return f"@{entity_id.name.lower()}@{entity_id.key}"

    @staticmethod
    def get_entity_id(scheduler_id: str) -> EntityId:
        """Parse a scheduler id (``@name@key``) back into an id.

        Raises:
            ValueError: the text is not of the form ``@name@key``.
        """
        components = scheduler_id[1:].split("@")
        if len(components) != 2:
            raise ValueError("Unexpected format in SchedulerId")
        name, key = components
        return EntityId(name, key)

    @staticmethod
    def get_entity_id_url_path(entity_id: EntityId) -> str:
        """The path of the entity below the host's webhook base URL."""
        return f"entities/{entity_id.name}/{entity_id.key}"

    def __str__(self) -> str:
        return EntityId.get_scheduler_id(self)

    def __repr__(self) -> str:
        return f"EntityId(name={self.name!r}, key={self.key!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntityId):
            return False
        return self.name == other.name and self.key == other.key

    def __hash__(self) -> int:
        return hash((self.name, self.key))
