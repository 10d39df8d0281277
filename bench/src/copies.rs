//! The headline's loops at every code page: copies of this library, loaded
//! until one copy's `switch_into` lies at each page modulo 8.
//!
//! The loader puts each `dlopen`ed file at an address of its own (a copy
//! of the file under another name is another library to it), below the one
//! before, a page-aligned distance further. Each copy has its own statics,
//! coroutines and code; its entry points are the `lab_copy_*` functions of
//! `lib.rs`, found with `dlsym`. A copy that lands at a page already taken
//! stays loaded (unloading it would free its place for the next one), and
//! a page of address space reserved below it moves the next copy by one
//! page.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;
use std::sync::atomic::Ordering;

use crate::{HEADLINE, LOOP_RSP, Loops, Run};

// The C library's dynamic loader and mmap (glibc has `dl*` in libc.so.6).
unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void;
}
const RTLD_NOW: c_int = 2;
const PROT_NONE: c_int = 0;
const MAP_PRIVATE: c_int = 0x02;
const MAP_ANONYMOUS: c_int = 0x20;

/// The code placements measured: a page's number modulo 8 (bits 12-14 of
/// an address), the period docs/measuring.md found.
pub const PAGES: usize = 8;

/// Loads of the library tried before giving up on a page.
const TRIES: usize = 64;

/// One loaded copy's entry points.
#[derive(Clone, Copy)]
struct Loaded {
    new: extern "C" fn() -> *mut Loops,
    time: unsafe extern "C" fn(*mut Loops, usize, u64) -> u64,
    loop_rsp: extern "C" fn() -> u64,
    code: extern "C" fn() -> usize,
}

/// The loader's last error, as text.
fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated string that stays
    // valid until the next dl* call.
    unsafe {
        let e = dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// Loads `path` (a copy of this library) as a library of its own.
fn load(path: &Path) -> Result<Loaded, String> {
    let name = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a NUL-terminated path; loading runs the library's
    // initialisers, which a Rust cdylib has none of its own.
    let handle = unsafe { dlopen(name.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        return Err(format!("dlopen {}: {}", path.display(), dl_error()));
    }
    let symbol = |s: &CStr| {
        // SAFETY: `handle` is a loaded library and `s` NUL-terminated.
        let f = unsafe { dlsym(handle, s.as_ptr()) };
        if f.is_null() {
            Err(format!("{}: no {s:?}", path.display()))
        } else {
            Ok(f)
        }
    };
    // SAFETY: each symbol is the function of lib.rs of that name, compiled
    // from the same source as these types (the library is this crate).
    unsafe {
        Ok(Loaded {
            new: std::mem::transmute::<*mut c_void, extern "C" fn() -> *mut Loops>(symbol(
                c"lab_copy_new",
            )?),
            time: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(*mut Loops, usize, u64) -> u64,
            >(symbol(c"lab_copy_time")?),
            loop_rsp: std::mem::transmute::<*mut c_void, extern "C" fn() -> u64>(symbol(
                c"lab_copy_loop_rsp",
            )?),
            code: std::mem::transmute::<*mut c_void, extern "C" fn() -> usize>(symbol(
                c"lab_copy_code",
            )?),
        })
    }
}

/// Reserves one page of address space (never touched), so that the next
/// library loaded lands a page lower.
fn reserve_page() {
    // SAFETY: an anonymous PROT_NONE mapping at an address of the kernel's
    // choosing: it changes no existing mapping.
    unsafe {
        mmap(
            std::ptr::null_mut(),
            4096,
            PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
}

/// Copies of `library` (this crate's cdylib), one per page modulo 8, in
/// order of the page; each copy's page is that of its `switch_into`.
fn one_per_page(library: &Path) -> Result<Vec<(usize, Loaded)>, String> {
    let dir = std::env::temp_dir().join(format!("switch-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut at_page: [Option<Loaded>; PAGES] = [None; PAGES];
    let mut result = Ok(());
    for attempt in 0..TRIES {
        if at_page.iter().all(Option::is_some) {
            break;
        }
        let copy = dir.join(format!("copy-{attempt}.so"));
        let loaded = std::fs::copy(library, &copy)
            .map_err(|e| format!("copying {} to {}: {e}", library.display(), copy.display()))
            .and_then(|_| load(&copy));
        let _ = std::fs::remove_file(&copy);
        match loaded {
            Ok(loaded) => {
                let page = ((loaded.code)() >> 12) % PAGES;
                if at_page[page].is_none() {
                    at_page[page] = Some(loaded);
                } else {
                    reserve_page();
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let _ = std::fs::remove_dir(&dir);
    result?;
    let missing: Vec<String> = (0..PAGES)
        .filter(|&p| at_page[p].is_none())
        .map(|p| p.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "no copy landed at page {} in {TRIES} loads",
            missing.join(", ")
        ));
    }
    Ok(at_page
        .into_iter()
        .enumerate()
        .filter_map(|(p, l)| Some((p, l?)))
        .collect())
}

/// The headline's loops in a copy of `library` at every page modulo 8:
/// `real_safe_api#<page>@?` and `corosensei#<page>@?`, four of each (the
/// stack's placements, named by their offset once warmed up, as in the
/// lab). Each run also copies its copy's loop stack pointer into this
/// module's [`LOOP_RSP`], which the lab reads.
pub fn every_page(library: &Path) -> Result<Vec<(String, Run)>, String> {
    let mut runs: Vec<(String, Run)> = Vec::new();
    for (page, loaded) in one_per_page(library)? {
        let copy = (loaded.new)();
        let names = HEADLINE.iter().flat_map(|name| [*name; 4]);
        for (i, name) in names.enumerate() {
            let run: Run = Box::new(move |n| {
                // SAFETY: `copy` is this copy's own, and the lab runs one
                // loop at a time.
                let ticks = unsafe { (loaded.time)(copy, i, n) };
                LOOP_RSP.store((loaded.loop_rsp)(), Ordering::Relaxed);
                ticks
            });
            runs.push((format!("{name}#{page}@?"), run));
        }
    }
    Ok(runs)
}
