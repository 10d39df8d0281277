//! The boot tool's integration tests, one module per subject, in a single
//! test binary: libtest runs them side by side across modules (as many at
//! once as the machine has cores), the kernels are built once for all of
//! them (`common::kernel`), and one binary is linked instead of one per
//! subject. Each module's header says what it checks; `cargo test -p boot
//! --test end_to_end MODULE::` runs one of them (docs/testing.md).
//!
//! A test that boots a guest or runs a busy program shares the machine, and
//! a timing-sensitive one has it alone: the rule is stated once, in
//! `common` (`sharing_the_machine`, `the_machine_alone`).
//!
//! libtest starts the tests in the order of their names, module first. The
//! longest test, the UEFI recording and its replay (13 s), is in
//! `record_replay`, whose name sorts about halfway: in a module that sorted
//! last, it would start last and run alone at the end, one core idle.

mod common;

mod bochs;
mod docs;
mod faults;
mod gdb_end;
mod gdb_package;
mod gdb_session;
mod gdb_window;
mod original;
mod picture;
mod record_replay;
mod release_profile;
mod round_robin;
mod runner;
mod scripts;
mod symbols;
mod transcript;
