"""msgspec Structs: the JSON shapes of API.md, and the explicit mappings between them and commands/domain objects."""
