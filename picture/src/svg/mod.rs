//! A run as one self-contained SVG picture, for a browser or a README.
//!
//! Read from top to bottom:
//!
//! - a **lane per routine** over the switch number, with a bar in the
//!   routine's colour wherever it runs, and at each switch an **arrow** from
//!   the lane that left to the lane that arrived, drawn by what the switch
//!   did with the leaving routine's slot ([`Kind::leaving`]): solid where its
//!   RSP was saved, dashed red where it was saved nowhere (the original
//!   program's `return`), dashed grey where the slot was emptied (`finish`);
//! - under the switch numbers, the same in words, upright so that
//!   neighbouring labels do not overlap (past about 110 switches there is no
//!   room left, and only the arrows' tooltips say it);
//! - a small chart per **stack**: how far below its top RSP was at each
//!   switch, with the high-water mark as a labelled line; a stack used only
//!   near its top (main's) is charted over its top part, and says so;
//! - a legend of the marks this picture uses. A fault ends its routine's
//!   last bar with a red cross, and its sentence is printed under the title.
//!
//! The x axis is the switch's place in the run (see [`crate::timeline`]):
//! the emulated time-stamp counter would mostly show the logging.
//!
//! Every colour and font is set once, in the `<style>` sheet at the top
//! ([`style_sheet`]); elements carry classes and geometry only.
//!
//! Each part in its file: the lanes and switches ([`lanes`]), the stack
//! charts ([`stack_chart`]), and the markup writer ([`xml`]), which escapes
//! what the `svg` crate would not.

mod lanes;
mod stack_chart;
mod xml;

use crate::timeline::{End, Timeline};
use lanes::{cross, lanes, slot_labels};
use protocol::event::{Id, Kind, Leaving};
use stack_chart::stacks;
use std::fmt::Write as _;
use xml::Xml;

/// The picture's width in pixels: GitHub shows up to about 1000 at page
/// width without scaling text down.
const WIDTH: f64 = 960.0;
/// Where the plots start: the lane and stack names go to the left of it.
const PLOT_LEFT: f64 = 150.0;
/// Where the plots end: the stack charts' scale and the fault's label go
/// to the right of it.
const PLOT_RIGHT: f64 = WIDTH - 60.0;
/// The font of every text.
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// The palette. These constants are written into the style sheet and
/// nowhere else.
mod palette {
    /// main's colour, then the coroutines' in turn (Tableau 10, less its
    /// red, which is kept for the flaw and faults).
    pub const ROUTINES: [&str; 9] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
        "#bab0ac",
    ];
    /// Faults, overflows, high-water marks and the original's unsaved return.
    pub const RED: &str = "#d62728";
    /// Text, axes and the arrows of switches that saved the leaving RSP.
    pub const INK: &str = "#333333";
    /// Secondary text: slot names, sizes, scales.
    pub const MUTED: &str = "#666666";
    /// The arrows and labels of `finish`: a slot emptied, nothing lost.
    pub const EMPTIED: &str = "#8c8c8c";
    /// Phase lines.
    pub const RULE: &str = "#999999";
    /// The stack charts' frames.
    pub const FRAME: &str = "#bbbbbb";
    /// The stack charts' background.
    pub const PANEL: &str = "#fafafa";
    /// Every other lane's background.
    pub const STRIPE: &str = "#f4f4f4";
    /// The page.
    pub const PAPER: &str = "#ffffff";
}

/// A run as an SVG document.
pub fn svg(timeline: &Timeline<'_>) -> String {
    let layout = Layout::new(timeline);
    let mut body = Xml::default();
    let mut y = title(&mut body, timeline, 30.0);
    if timeline.routines.is_empty() {
        // A kernel without a roster (the test kernels): nothing to draw
        // but the title, and a sentence saying why.
        y += 18.0;
        body.text(
            &[("x", &20), ("y", &px(y))],
            &"No routine lines: this kernel declares no coroutines, so there are no lanes or stacks to draw.",
        );
    } else {
        y = lanes(&mut body, timeline, &layout, y + 10.0);
        y = slot_labels(&mut body, timeline, &layout, y);
        y = stacks(&mut body, timeline, &layout, y + 14.0);
        y = legend(&mut body, timeline, y + 16.0);
    }
    let height = (y + 12.0).ceil();

    let mut doc = Xml::default();
    doc.open(
        "svg",
        &[
            ("xmlns", &"http://www.w3.org/2000/svg"),
            ("width", &WIDTH),
            ("height", &height),
            ("viewBox", &format_args!("0 0 {WIDTH} {height}")),
        ],
    );
    doc.text_element("title", &[], &heading(timeline));
    doc.text_element("style", &[], &style_sheet(&layout));
    defs(&mut doc);
    doc.leaf(
        "rect",
        &[("class", &"paper"), ("width", &WIDTH), ("height", &height)],
    );
    doc.out.push_str(&body.out);
    doc.close("svg");
    doc.out
}

/// The picture's one style sheet: every colour, font and dash pattern.
/// Sizes that depend on the layout (the arrows' width, the per-switch
/// labels' font) are written in here too.
fn style_sheet(layout: &Layout) -> String {
    use palette::*;
    let mut css = format!(
        "
text {{ font-family: {FONT}; font-size: 12px; fill: {INK} }}
.paper {{ fill: {PAPER} }}
.title {{ font-size: 18px; font-weight: bold }}
.heading {{ font-weight: bold }}
.red {{ fill: {RED} }}
.name {{ text-anchor: end }}
.note {{ font-size: 9px; fill: {MUTED}; text-anchor: end }}
.phases line {{ stroke: {RULE}; stroke-dasharray: 4 3 }}
.phases text {{ font-size: 11px; fill: {MUTED} }}
.stripe {{ fill: {STRIPE} }}
.plain {{ fill: {PAPER} }}
.arrow {{ stroke-width: {stroke}px; fill: none }}
.arrow.saved {{ stroke: {INK}; marker-end: url(#head-saved) }}
.arrow.lost {{ stroke: {RED}; stroke-dasharray: 3 2; marker-end: url(#head-lost) }}
.arrow.emptied {{ stroke: {EMPTIED}; stroke-dasharray: 6 2; marker-end: url(#head-emptied) }}
.head.saved, .slot.saved {{ fill: {INK} }}
.head.lost, .slot.lost {{ fill: {RED} }}
.head.emptied, .slot.emptied {{ fill: {EMPTIED} }}
.slots text {{ font-size: {small}px; text-anchor: end }}
.slots text.caption {{ font-size: 10px }}
.axis line {{ stroke: {INK} }}
.axis text {{ font-size: 10px; text-anchor: middle }}
.axis text.caption {{ text-anchor: end }}
.end line {{ stroke: {INK}; stroke-width: 2 }}
.end text {{ font-size: 11px; text-anchor: middle }}
.cross {{ stroke: {RED}; stroke-width: 3; fill: none }}
.fault text {{ font-size: 11px; font-weight: bold; fill: {RED} }}
.stack-name {{ font-size: 11px; text-anchor: end }}
.frame {{ fill: {PANEL}; stroke: {FRAME} }}
.scale {{ font-size: 8px; fill: {MUTED} }}
.figure {{ font-size: 8px; fill: {MUTED}; text-anchor: middle }}
.depth.overflowed {{ fill: {RED} }}
.overflow-label {{ font-size: 10px; fill: {RED}; text-anchor: end }}
.high-water-line {{ stroke: {RED}; stroke-dasharray: 6 3 }}
.high-water text {{ font-size: 10px; fill: {RED}; text-anchor: end }}
.legend text {{ font-size: 11px }}
",
        stroke = layout.stroke,
        small = layout.small,
    );
    for (index, colour) in ROUTINES.iter().enumerate() {
        let _ = writeln!(css, ".r{index} {{ fill: {colour} }}");
    }
    css
}

/// The class of a switch's arrow and label: what it did with the leaving
/// routine's slot.
fn leaving_class(leaving: Leaving) -> &'static str {
    match leaving {
        Leaving::Saved => "saved",
        Leaving::Lost => "lost",
        Leaving::Emptied => "emptied",
    }
}

/// Sizes that depend on how many switches and routines there are.
struct Layout {
    /// Pixels per switch.
    column: f64,
    /// Height of one routine's lane.
    lane: f64,
    /// Height of one stack's chart.
    chart: f64,
    /// Font size of the per-switch labels.
    small: f64,
    /// Width of the switch arrows' lines; their heads scale with it.
    stroke: f64,
}

impl Layout {
    fn new(timeline: &Timeline<'_>) -> Layout {
        let column = (PLOT_RIGHT - PLOT_LEFT) / timeline.end_step() as f64;
        let crowded = timeline.routines.len() > 4;
        Layout {
            column,
            lane: if crowded { 28.0 } else { 36.0 },
            chart: if crowded { 36.0 } else { 60.0 },
            // Upright labels stand side by side one column apart.
            small: px((column - 2.0).clamp(6.5, 11.0)),
            stroke: if column < 12.0 { 1.0 } else { 1.5 },
        }
    }

    /// The x of a step: the k-th switch happens at `x(k)`.
    fn x(&self, step: usize) -> f64 {
        PLOT_LEFT + step as f64 * self.column
    }

    /// Every how many switches the axis gets a number.
    fn tick_every(&self) -> usize {
        [1, 2, 5, 10, 20, 50]
            .into_iter()
            .find(|&every| every as f64 * self.column >= 18.0)
            .unwrap_or(100)
    }
}

/// The colour class of routine `id`: main's, then the coroutines' in turn.
fn colour(id: Id) -> String {
    let others = palette::ROUTINES.len() - 1;
    let index = match id {
        0 => 0,
        id => 1 + (id as usize - 1) % others,
    };
    format!("r{index}")
}

/// A number of pixels, to a tenth: enough for a screen, short in the file.
fn px(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The picture's heading, also its `<title>`.
fn heading(timeline: &Timeline<'_>) -> String {
    let coroutines = timeline.routines.iter().filter(|r| r.id != 0).count();
    let plural = if coroutines == 1 { "" } else { "s" };
    format!("Who runs when: main and {coroutines} coroutine{plural}, switch by switch")
}

/// The arrowheads, one per kind of arrow: a marker does not take the
/// colour of the line it ends.
fn defs(doc: &mut Xml) {
    doc.open("defs", &[]);
    for leaving in [Leaving::Saved, Leaving::Lost, Leaving::Emptied] {
        let class = leaving_class(leaving);
        doc.open(
            "marker",
            &[
                ("id", &format_args!("head-{class}")),
                ("viewBox", &"0 0 10 10"),
                ("refX", &9),
                ("refY", &5),
                ("markerWidth", &7),
                ("markerHeight", &7),
                ("orient", &"auto"),
            ],
        );
        doc.leaf(
            "path",
            &[
                ("class", &format_args!("head {class}")),
                ("d", &"M0,0 L10,5 L0,10 z"),
            ],
        );
        doc.close("marker");
    }
    doc.close("defs");
}

/// Title, summary, phases and a fault's sentence; returns the y below them.
fn title(out: &mut Xml, timeline: &Timeline<'_>, mut y: f64) -> f64 {
    out.text(
        &[("class", &"title"), ("x", &20), ("y", &y)],
        &heading(timeline),
    );
    y += 22.0;
    let ended = match &timeline.end {
        End::Exit { code, .. } => format!("ended: exit, {}", code.word()),
        End::Fault { who, .. } => format!("ended: fault in {}", timeline.name(*who)),
        End::Cut => "ended: the event lines stop here (no exit, no fault)".to_owned(),
    };
    let switches = timeline.switches.len();
    let mut lines = vec![format!("{switches} switches, {ended}.")];
    if timeline.cut_line.is_some() {
        lines.push(
            "The last event line was cut short (the run stopped while the kernel wrote it): it is left out."
                .to_owned(),
        );
    }
    if let Some(left) = timeline.unfinished_switch() {
        lines.push(format!(
            "Switch #{} never arrived: {} left for it at RSP {:#018x}, and no switch line followed.",
            left.n,
            timeline.name(left.from),
            left.rsp
        ));
    }
    for (index, phase) in timeline.phases.iter().enumerate() {
        let last = timeline
            .phases
            .get(index + 1)
            .map_or(switches, |next| next.step);
        let mut line = format!("Phase {}", phase.number);
        match last - phase.step {
            0 => {}
            1 => {
                let _ = write!(line, " (switch #{last})");
            }
            _ => {
                let _ = write!(line, " (switches #{}–#{last})", phase.step + 1);
            }
        }
        let _ = write!(line, ": {}.", phase.title);
        lines.push(line);
    }
    for line in lines.iter().flat_map(|line| wrap(line, 130)) {
        out.text(&[("x", &20), ("y", &y)], &line);
        y += 16.0;
    }
    if let End::Fault { what, .. } = &timeline.end {
        for line in wrap(&format!("Fault: {what}"), 130) {
            out.text(&[("class", &"red"), ("x", &20), ("y", &y)], &line);
            y += 16.0;
        }
    }
    y
}

/// Splits `text` at spaces into lines of at most `width` characters (a word
/// longer than that gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// Draws a legend entry's sample mark, its text starting 30 px to the right
/// of `x` on the baseline `y`.
type Swatch<'a> = Box<dyn Fn(&mut Xml, f64, f64) + 'a>;

/// What the marks of this picture mean; returns the y below the legend.
fn legend(out: &mut Xml, timeline: &Timeline<'_>, top: f64) -> f64 {
    // A routine-coloured mark shows the first few routines' colours side
    // by side, as in their lanes.
    let colours: Vec<String> = timeline
        .routines
        .iter()
        .take(3)
        .map(|r| colour(r.id))
        .collect();
    let colours = &colours;
    let mut items: Vec<(String, Swatch<'_>)> = vec![(
        "runs: a bar in the routine's lane, in its colour".to_owned(),
        Box::new(move |out: &mut Xml, x: f64, y: f64| {
            let width = 24.0 / colours.len().max(1) as f64;
            for (i, class) in colours.iter().enumerate() {
                let left = x + width * i as f64;
                out.leaf(
                    "rect",
                    &[
                        ("class", class),
                        ("x", &px(left)),
                        ("y", &(y - 9.0)),
                        ("width", &px(width)),
                        ("height", &10),
                    ],
                );
            }
        }),
    )];
    for leaving in [Leaving::Saved, Leaving::Lost, Leaving::Emptied] {
        let kinds: Vec<&str> = Kind::ALL
            .into_iter()
            .filter(|k| k.leaving() == leaving)
            .filter(|k| timeline.switches.iter().any(|s| s.kind == *k))
            .map(Kind::as_str)
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let class = format!("arrow {}", leaving_class(leaving));
        items.push((
            format!("{}: {}", kinds.join(", "), leaving.meaning()),
            Box::new(move |out: &mut Xml, x: f64, y: f64| {
                out.line(&[("class", &class)], (x, y - 4.0), (x + 22.0, y - 4.0));
            }),
        ));
    }
    items.push((
        "RSP depth at a switch, in the stack's colour".to_owned(),
        Box::new(move |out: &mut Xml, x: f64, y: f64| {
            for (i, class) in colours.iter().enumerate() {
                out.leaf(
                    "rect",
                    &[
                        ("class", class),
                        ("x", &(x + 8.0 * i as f64)),
                        ("y", &(y - 10.0)),
                        ("width", &5),
                        ("height", &12),
                    ],
                );
            }
        }),
    ));
    if !timeline.high_water.is_empty() {
        items.push((
            "high-water mark of the stack".to_owned(),
            Box::new(|out: &mut Xml, x: f64, y: f64| {
                out.line(
                    &[("class", &"high-water-line")],
                    (x, y - 4.0),
                    (x + 22.0, y - 4.0),
                );
            }),
        ));
    }
    if matches!(timeline.end, End::Fault { .. }) {
        items.push((
            "fault: the run ends here".to_owned(),
            Box::new(|out: &mut Xml, x: f64, y: f64| {
                out.leaf(
                    "path",
                    &[("class", &"cross"), ("d", &cross(x + 11.0, y - 5.0, 5.0))],
                );
            }),
        ));
    }
    out.open("g", &[("class", &"legend")]);
    let column_width = (WIDTH - 40.0) / 2.0;
    for (index, (label, draw)) in items.iter().enumerate() {
        let x = 20.0 + column_width * (index % 2) as f64;
        let y = top + 18.0 * (index / 2) as f64;
        draw(out, x, y);
        out.text(&[("x", &(x + 30.0)), ("y", &y)], label);
    }
    out.close("g");
    top + 18.0 * items.len().div_ceil(2) as f64
}

#[cfg(test)]
mod tests;
