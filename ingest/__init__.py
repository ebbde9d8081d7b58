"""Reading the exchange format (shared/EXCHANGE-FORMAT.md) into a store, and making synthetic
prefectures in it."""
