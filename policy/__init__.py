"""The policy a bureau configures (standards, multiples, categories, income and asset rules,
maintenance, cadence, exit, warnings), read from a TOML file and validated; no code edits."""
