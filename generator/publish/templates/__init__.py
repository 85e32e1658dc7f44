"""The page templates punkgen fills in (the static gallery)."""
