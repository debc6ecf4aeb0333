"""Log formats: their definitions (data/*.toml), detection, and parsing chunks of lines."""
