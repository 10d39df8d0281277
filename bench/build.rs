//! Links the library's cdylib with `-Bsymbolic`: each copy the lab loads
//! calls its own `switch_into`, `resume` and loops directly, not through the
//! PLT to whichever copy was loaded first.

fn main() {
    println!("cargo::rustc-cdylib-link-arg=-Wl,-Bsymbolic");
}
