//! The switch's measuring tools live in `benches/` and `examples/`; this
//! library is empty (a package needs a target of its own).
