//! The SVG's markup, written element by element.
//!
//! Written here rather than with the `svg` crate: that crate (0.18) escapes
//! `&`, `<` and `>` but not `"` in attribute values, so a name with a quote
//! in it would break the file, and its builder adds nothing this picture
//! needs beyond writing elements.

use std::fmt::{self, Display, Write as _};

/// Writes XML elements one after the other, escaping every attribute value
/// and text.
#[derive(Default)]
pub(super) struct Xml {
    pub(super) out: String,
}

/// An element's attributes: names are this file's own, values anything
/// printable.
pub(super) type Attributes<'a> = [(&'a str, &'a dyn Display)];

impl Xml {
    pub(super) fn start(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            let _ = write!(self.out, " {key}=\"");
            self.escaped(value);
            self.out.push('"');
        }
    }

    /// `<name ...>`: children follow until [`Xml::close`].
    pub(super) fn open(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.start(name, attributes);
        self.out.push_str(">\n");
    }

    /// `<name .../>`.
    pub(super) fn leaf(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.start(name, attributes);
        self.out.push_str("/>\n");
    }

    /// `<line>` from `(x1, y1)` to `(x2, y2)`, with `attributes` (a class)
    /// first.
    pub(super) fn line(
        &mut self,
        attributes: &Attributes<'_>,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
    ) {
        let ends: [(&str, &dyn Display); 4] = [("x1", &x1), ("y1", &y1), ("x2", &x2), ("y2", &y2)];
        let all: Vec<(&str, &dyn Display)> = attributes.iter().chain(&ends).copied().collect();
        self.leaf("line", &all);
    }

    /// `<text ...>text</text>`.
    pub(super) fn text(&mut self, attributes: &Attributes<'_>, text: &dyn Display) {
        self.text_element("text", attributes, text);
    }

    /// `<name ...>text</name>`.
    pub(super) fn text_element(
        &mut self,
        name: &str,
        attributes: &Attributes<'_>,
        text: &dyn Display,
    ) {
        self.start(name, attributes);
        self.out.push('>');
        self.escaped(text);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// `</name>`.
    pub(super) fn close(&mut self, name: &str) {
        let _ = writeln!(self.out, "</{name}>");
    }

    /// Writes `value` with the five characters XML reserves escaped.
    pub(super) fn escaped(&mut self, value: &dyn Display) {
        struct Escape<'a>(&'a mut String);
        impl fmt::Write for Escape<'_> {
            fn write_str(&mut self, text: &str) -> fmt::Result {
                for c in text.chars() {
                    match c {
                        '&' => self.0.push_str("&amp;"),
                        '<' => self.0.push_str("&lt;"),
                        '>' => self.0.push_str("&gt;"),
                        '"' => self.0.push_str("&quot;"),
                        '\'' => self.0.push_str("&apos;"),
                        c => self.0.push(c),
                    }
                }
                Ok(())
            }
        }
        let _ = write!(Escape(&mut self.out), "{value}");
    }
}
