"""Next steps per platform, as data: one YAML per platform (format in cisco_ios.yaml)."""
