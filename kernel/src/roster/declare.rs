//! What a kernel writes to declare its coroutine set: [`roster!`](crate::roster!),
//! which declares each stack with [`stack!`](crate::stack!) and each slot with
//! [`slot!`](crate::slot!), and the [`Roster`] it builds from them.

use crate::guard::GuardedStack;
use core::ops::Deref;
use coroutine_switch::Body;
use protocol::event::Id;

/// main's routine number; coroutines are numbered from 1 in roster order.
pub const MAIN: Id = 0;

/// A `.bss` object and the symbol it has in the ELF (the original's label).
///
/// The object itself is a separate `static` with that symbol (see
/// [`stack!`](crate::stack!) and [`slot!`](crate::slot!)), so it stays in
/// `.bss`; this pairs a reference to it with its name.
pub struct Named<T: 'static> {
    value: &'static T,
    name: &'static str,
}

impl<T> Named<T> {
    /// `value`, known in the ELF as `name`.
    pub const fn new(value: &'static T, name: &'static str) -> Self {
        Self { value, name }
    }

    /// The symbol name, e.g. `coroutine1_stack`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The object, with a `'static` lifetime.
    pub fn get(&self) -> &'static T {
        self.value
    }
}

impl<T> Deref for Named<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

/// One coroutine of a roster.
pub struct Member {
    /// Its name in logs and reports, e.g. `coroutine1`.
    pub name: &'static str,
    /// Its stack, above a guard page.
    pub stack: &'static Named<GuardedStack>,
    /// Its context slot: its RSP while it does not run.
    pub slot: &'static Named<Context>,
    /// What it runs.
    pub body: Body,
}

/// A kernel's coroutine set: main's slot and the coroutines. Declare one
/// with [`roster!`](crate::roster!).
pub struct Roster {
    /// main's context slot: main's RSP while a coroutine runs.
    pub main_slot: &'static Named<Context>,
    /// The coroutines, numbered 1.. in this order.
    pub coroutines: &'static [Member],
}

/// Declares a coroutine stack: a [`GuardedStack`] in `.bss` whose stack
/// part is the ELF symbol `$symbol` (4096 bytes, `@object`), and a `static`
/// [`Named`] reference to it.
///
/// The symbol is an alias set with `global_asm!` at the stack part, so that
/// gdb's `info symbol $rsp` answers `coroutine1_stack + N`, and
/// `&coroutine1_stack + 4096` is the top, as in the NASM listing; the
/// guard page below keeps a symbol of its own (`coroutine1_stack_guarded`).
#[macro_export]
macro_rules! stack {
    ($(#[$attr:meta])* $vis:vis static $name:ident = $symbol:literal;) => {
        $(#[$attr])*
        $vis static $name: $crate::roster::Named<$crate::guard::GuardedStack> =
            $crate::roster::Named::new(
                {
                    #[unsafe(export_name = concat!($symbol, "_guarded"))]
                    static GUARDED: $crate::guard::GuardedStack = $crate::guard::GuardedStack::new();
                    &GUARDED
                },
                $symbol,
            );
        ::core::arch::global_asm!(
            concat!(".globl ", $symbol),
            concat!(".type ", $symbol, ", @object"),
            concat!(".set ", $symbol, ", ", $symbol, "_guarded + {guard}"),
            concat!(".size ", $symbol, ", {size}"),
            guard = const $crate::guard::PAGE_SIZE,
            size = const $crate::guard::STACK_SIZE,
        );
    };
}

/// Declares a context slot: a [`Context`] in `.bss` with the ELF symbol
/// `$symbol`, and a `static` [`Named`] reference to it. Naked code reaches
/// it by that name (`mov [rip + main_context], rsp`), gdb too
/// (`x/gx &main_context`).
#[macro_export]
macro_rules! slot {
    ($(#[$attr:meta])* $vis:vis static $name:ident = $symbol:literal;) => {
        $(#[$attr])*
        $vis static $name: $crate::roster::Named<$crate::roster::Context> =
            $crate::roster::Named::new(
                {
                    #[unsafe(export_name = $symbol)]
                    static SLOT: $crate::roster::Context = $crate::roster::Context::new();
                    &SLOT
                },
                $symbol,
            );
    };
}

/// Declares a kernel's roster: main's slot, then one line per coroutine
/// (`name: STACK = "symbol", SLOT = "symbol", body;`), each line declaring
/// that coroutine's stack and slot with [`stack!`](crate::stack!) and
/// [`slot!`](crate::slot!).
///
/// ```ignore
/// kernel::roster! {
///     static ROSTER;
///     main: MAIN_CONTEXT = "main_context";
///     coroutine1: COROUTINE1_STACK = "coroutine1_stack", CORO1_CONTEXT = "coro1_context", coroutine1_task;
///     coroutine2: COROUTINE2_STACK = "coroutine2_stack", CORO2_CONTEXT = "coro2_context", coroutine2_task;
/// }
/// ```
#[macro_export]
macro_rules! roster {
    (
        $(#[$attr:meta])* $vis:vis static $roster:ident;
        main: $main_slot:ident = $main_symbol:literal;
        $($who:ident: $stack:ident = $stack_symbol:literal, $slot:ident = $slot_symbol:literal, $body:expr;)*
    ) => {
        $crate::slot! {
            #[doc = concat!("`", $main_symbol, ": resq 1`: main's RSP while a coroutine runs.")]
            $vis static $main_slot = $main_symbol;
        }
        $(
            $crate::stack! {
                #[doc = concat!("`", $stack_symbol, ": resb 4096`: ", stringify!($who), "'s stack, above an unmapped guard page.")]
                $vis static $stack = $stack_symbol;
            }
            $crate::slot! {
                #[doc = concat!("`", $slot_symbol, ": resq 1`: ", stringify!($who), "'s RSP while it does not run.")]
                $vis static $slot = $slot_symbol;
            }
        )*
        $(#[$attr])*
        $vis static $roster: $crate::roster::Roster = $crate::roster::Roster {
            main_slot: &$main_slot,
            coroutines: &[$($crate::roster::Member {
                name: stringify!($who),
                stack: &$stack,
                slot: &$slot,
                body: $body,
            }),*],
        };
    };
}

// The macros above name these through `$crate::roster`, so that a kernel
// need not depend on the switch crate to declare its roster.
pub use coroutine_switch::Context;
