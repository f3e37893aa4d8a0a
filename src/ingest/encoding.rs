//! Encoding detection (interface; the full module lands with the encoding helper).
