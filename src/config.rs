//! Configuration (interface; filled in with the CLI).
