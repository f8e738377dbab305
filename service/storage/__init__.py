"""Storage: engine and sessions, the domain models, and the migrations that build them."""
