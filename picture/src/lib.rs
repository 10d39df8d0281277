//! `picture`: what a run of the kernel looked like, from its event lines.
//!
//! events → [`timeline`] → [`trace`] / [`svg`]: the lines the kernel wrote
//! to COM2 (see [`protocol::event`]) are parsed once into a
//! [`Timeline`](timeline::Timeline) (who ran when, how deep each stack was,
//! how the run ended), which both drawings take: a Chrome Trace Event file
//! for ui.perfetto.dev, and a self-contained SVG. The boot tool calls it
//! when asked for `--trace` or `--svg`; nothing here runs QEMU.

pub mod svg;
pub mod timeline;
pub mod trace;

pub use timeline::Timeline;

#[cfg(test)]
mod properties;
