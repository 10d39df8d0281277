//! # The stack switch of the bare-metal coroutines kernel
//!
//! Stackful coroutines for x86_64 (System V ABI), `no_std`, no allocation:
//! a [`Stack`] you provide, a [`Context`] slot per side, and two naked
//! functions that switch between them.
//!
//! ## Example
//!
//! A coroutine on a stack of its own, values handed both ways, run to its
//! end (this is `examples/ping_pong.rs`; `cargo run -p coroutine-switch
//! --example ping_pong` prints what happens):
//!
//! ```
#![doc = include_str!("../examples/ping_pong.rs")]
//! ```
//!
//! ## Where it comes from
//!
//! The NASM program this project starts from keeps one saved stack pointer per
//! routine (`main_context`, `coro1_context`, `coro2_context`) and a 4096-byte
//! `.bss` stack per coroutine. It moves RSP onto a coroutine's stack, *calls*
//! the coroutine and moves RSP back: the coroutine can only run to its end.
//!
//! This crate keeps exactly those pieces — a [`Stack`] and a [`Context`] slot
//! holding one saved RSP — and adds what a real coroutine needs: a way to
//! leave in the middle ([`Yielder::suspend`]) and to come back later
//! ([`Coroutine::resume`]). Both are one naked function each, the same
//! save/swap/restore with a different way in and out:
//!
//! ```text
//!   switch_into(from, to, value)  resume: main -> coroutine, entered by `call`
//!   switch_back(from, to, value)  yield:  coroutine -> main, entered by `jmp`
//! ```
//!
//! A suspended side is nothing but its stack: the registers it needs back and
//! the address to continue at are on it, and its [`Context`] holds the RSP
//! that points at them. The value handed across travels in rax, as
//! `coroutine1_func`'s result did in the original.
//!
//! ## Where to read what
//!
//! Each file of `src/` has one job and opens with what it needs explained:
//!
//! - `switch.rs`: the assembly: the two switches and the tombstone, with the
//!   stack diagrams, the registers they save and why only those, how they
//!   pair `call` with `ret`, and the unwind rows that let a debugger's
//!   backtrace cross them.
//! - `trampoline.rs`: the assembly a fresh coroutine starts in: the layout
//!   of a fresh stack, and how the trampoline's hand-written unwind
//!   information links a coroutine's frames to its resumer's.
//! - `stack.rs`: [`Stack`], its paint, and the canary at its bottom.
//! - `context.rs`: [`Context`], the slot of one saved RSP, and the two
//!   `asm!` blocks that enter the switches.
//! - `coroutine.rs`: [`Coroutine`], the safe API, and its one check per
//!   round trip.
//! - `yielder.rs`: the coroutine's side: [`Yielder`], with which it
//!   suspends, and the function the trampoline runs its body in.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_arch = "x86_64"))]
compile_error!("coroutine-switch switches x86_64 stacks only");

mod context;
mod coroutine;
mod stack;
mod switch;
mod trampoline;
mod yielder;

pub use context::Context;
pub use coroutine::{Coroutine, INITIAL_FRAME_SIZE, Resumed};
pub use stack::{CANARY, FINISHED, PAINT, STACK_SIZE, Stack};
pub use switch::{FRAME_WORDS, switch_back, switch_into};
pub use trampoline::TRAMPOLINE_ENTRY;
pub use yielder::{Body, Yielder};

/// The code blocks of `README.md`, run as doc tests so that its example
/// stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
