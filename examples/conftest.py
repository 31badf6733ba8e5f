"""The examples use the repository's models.toml (providers `local` and `local-anthropic`)."""
