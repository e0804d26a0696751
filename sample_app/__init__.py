"""A Twitter-like Django project using feed-outbox the way its users do (not shipped in the wheel)."""
