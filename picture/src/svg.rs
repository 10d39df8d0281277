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
//! The markup is written by [`Xml`], at the end of this file, rather than
//! with the `svg` crate: that crate (0.18) escapes `&`, `<` and `>` but not
//! `"` in attribute values, so a name with a quote in it would break the
//! file, and its builder adds nothing this picture needs beyond writing
//! elements.

use crate::timeline::{DepthSample, End, HighWater, Routine, Timeline, switch_title};
use protocol::event::{Id, Kind, Leaving, Switch};
use std::fmt::{self, Display, Write as _};

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

/// The phase marks, the lanes with their bars, the switch arrows and the
/// switch-number axis; returns the y below the axis.
fn lanes(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
    let lanes_top = top + 16.0;
    let lanes_bottom = lanes_top + layout.lane * timeline.routines.len() as f64;
    let lane_of = |id: Id| timeline.routines.iter().position(|r| r.id == id);
    let centre = |index: usize| lanes_top + layout.lane * (index as f64 + 0.5);

    phase_marks(out, timeline, layout, top, lanes_bottom);

    for (index, routine) in timeline.routines.iter().enumerate() {
        lane(
            out,
            timeline,
            layout,
            routine,
            lanes_top + layout.lane * index as f64,
        );
    }

    for (index, switch) in timeline.switches.iter().enumerate() {
        let (Some(from), Some(to)) = (lane_of(switch.from), lane_of(switch.to)) else {
            continue;
        };
        arrow(
            out,
            timeline,
            layout,
            switch,
            index + 1,
            centre(from),
            centre(to),
        );
    }

    let fault_lane = match &timeline.end {
        End::Fault { who, .. } => lane_of(*who).map(centre),
        _ => None,
    };
    end_mark(out, timeline, layout, (lanes_top, lanes_bottom), fault_lane);
    axis(out, timeline, layout, lanes_bottom)
}

/// A dashed line where each phase starts, from `top` down to
/// `lanes_bottom`, and its number. A phase starts between two switches: the
/// line is drawn in the middle of that stretch.
fn phase_marks(
    out: &mut Xml,
    timeline: &Timeline<'_>,
    layout: &Layout,
    top: f64,
    lanes_bottom: f64,
) {
    out.open("g", &[("class", &"phases")]);
    for phase in &timeline.phases {
        let x = if phase.step == 0 {
            PLOT_LEFT
        } else {
            layout.x(phase.step) + layout.column / 2.0
        };
        if phase.step > 0 {
            out.line(&[], (px(x), top), (px(x), lanes_bottom));
        }
        out.text(
            &[("x", &px(x + 4.0)), ("y", &(top + 11.0))],
            &format_args!("phase {}", phase.number),
        );
    }
    out.close("g");
}

/// How the run ended, at its end: a red cross on the faulting routine's
/// lane (centred at `fault_lane`), or a line across the lanes (`lanes`: top
/// and bottom) labelled `exit` or `cut`.
fn end_mark(
    out: &mut Xml,
    timeline: &Timeline<'_>,
    layout: &Layout,
    (lanes_top, lanes_bottom): (f64, f64),
    fault_lane: Option<f64>,
) {
    let end_x = px(layout.x(timeline.end_step()));
    match &timeline.end {
        End::Fault { what, .. } => {
            if let Some(y) = fault_lane {
                let r = layout.lane * 0.3;
                out.open("g", &[("class", &"fault")]);
                out.text_element("title", &[], what);
                out.leaf("path", &[("class", &"cross"), ("d", &cross(end_x, y, r))]);
                out.text(
                    &[("x", &px(end_x + r + 3.0)), ("y", &px(y + 4.0))],
                    &"fault",
                );
                out.close("g");
            }
        }
        End::Exit { .. } | End::Cut => {
            let label = if matches!(timeline.end, End::Cut) {
                "cut"
            } else {
                "exit"
            };
            out.open("g", &[("class", &"end")]);
            out.line(&[], (end_x, lanes_top), (end_x, lanes_bottom));
            out.text(&[("x", &end_x), ("y", &(lanes_top - 3.0))], &label);
            out.close("g");
        }
    }
}

/// The path of an x-shaped cross centred at `(x, y)`, `r` from the centre
/// to each side.
fn cross(x: f64, y: f64, r: f64) -> String {
    let (x, y, d) = (px(x - r), px(y - r), px(2.0 * r));
    format!("M{x},{y} l{d},{d} m0,-{d} l-{d},{d}")
}

/// One routine's lane: its name and slot, and a bar for each stretch it
/// runs.
fn lane(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, routine: &Routine<'_>, y: f64) {
    let name: &dyn Display = &routine.name;
    out.open("g", &[("class", &"lane"), ("data-routine", name)]);
    let stripe = if routine.id % 2 == 0 {
        "stripe"
    } else {
        "plain"
    };
    out.leaf(
        "rect",
        &[
            ("class", &stripe),
            ("x", &PLOT_LEFT),
            ("y", &px(y)),
            ("width", &px(PLOT_RIGHT - PLOT_LEFT)),
            ("height", &layout.lane),
        ],
    );
    let middle = y + layout.lane / 2.0;
    out.text(
        &[
            ("class", &"name"),
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(middle + 1.0)),
        ],
        name,
    );
    // Its slot's name, which the labels under the switches use.
    out.text(
        &[
            ("class", &"note"),
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(middle + 11.0)),
        ],
        &format_args!("slot {}", routine.slot),
    );
    let bar = layout.lane * 0.5;
    let class = format!("run {}", colour(routine.id));
    for run in timeline.runs.iter().filter(|run| run.who == routine.id) {
        // A pixel's gap at each end leaves room for the switch arrows.
        let left = layout.x(run.start) + 1.0;
        let width = (layout.x(run.end) - 1.0 - left).max(1.0);
        out.open(
            "rect",
            &[
                ("class", &class),
                ("x", &px(left)),
                ("y", &px(y + (layout.lane - bar) / 2.0)),
                ("width", &px(width)),
                ("height", &px(bar)),
                ("rx", &2),
            ],
        );
        let went_out = match (&run.went_out, &run.left) {
            (Some(switch), _) => switch_title(switch),
            (None, Some(left)) => format!("the end, in the middle of switch #{}", left.n),
            (None, None) => "the end".into(),
        };
        let left = run.left.map_or(String::new(), |left| {
            format!(", leaving at RSP {:#018x}", left.rsp)
        });
        out.text_element(
            "title",
            &[],
            &format_args!(
                "{} runs from {} to {went_out}{left}",
                routine.name,
                run.came_in
                    .as_ref()
                    .map_or("the start".into(), switch_title),
            ),
        );
        out.close("rect");
    }
    out.close("g");
}

/// The arrow of the switch at `step`, from the leaving lane's centre
/// (`from`) to the arriving one's (`to`), drawn by what the switch did with
/// the leaving slot.
fn arrow(
    out: &mut Xml,
    timeline: &Timeline<'_>,
    layout: &Layout,
    switch: &Switch,
    step: usize,
    from: f64,
    to: f64,
) {
    let x = px(layout.x(step));
    let n: &dyn Display = &switch.n;
    out.open("g", &[("class", &"switch"), ("data-n", n)]);
    out.text_element("title", &[], &describe(timeline, switch));
    let class = format!("arrow {}", leaving_class(switch.kind.leaving()));
    out.line(&[("class", &class)], (x, px(from)), (x, px(to)));
    out.close("g");
}

/// A switch in a sentence, for tooltips.
fn describe(timeline: &Timeline<'_>, switch: &Switch) -> String {
    format!(
        "{}: {} → {}; wrote {}; read {}",
        switch_title(switch),
        timeline.name(switch.from),
        timeline.name(switch.to),
        timeline.wrote(switch),
        timeline.read(switch),
    )
}

/// The switch numbers under the lanes; returns the y below them.
fn axis(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, y: f64) -> f64 {
    out.open("g", &[("class", &"axis")]);
    out.line(&[], (PLOT_LEFT, px(y)), (PLOT_RIGHT, px(y)));
    let every = layout.tick_every();
    for (index, switch) in timeline.switches.iter().enumerate() {
        let step = index + 1;
        let x = px(layout.x(step));
        let long = step % every == 0;
        out.line(&[], (x, px(y)), (x, px(y + if long { 5.0 } else { 3.0 })));
        if long {
            out.text(&[("x", &x), ("y", &px(y + 16.0))], &switch.n);
        }
    }
    out.text(
        &[
            ("class", &"caption"),
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(y + 16.0)),
        ],
        &"switch #",
    );
    out.close("g");
    y + 22.0
}

/// What a switch did with the leaving routine's slot, in a few words: the
/// words under its arrow.
fn slot_label(timeline: &Timeline<'_>, switch: &Switch) -> String {
    let kind = switch.kind.as_str();
    let slot = timeline.slot(switch.from);
    match switch.kind.leaving() {
        Leaving::Saved => format!("{kind} → {slot}"),
        Leaving::Lost => format!("{kind}: saved nowhere"),
        Leaving::Emptied => format!("{kind}: {slot} emptied"),
    }
}

/// Under each switch, upright, the kind and what it did with the leaving
/// routine's slot; returns the y below them.
fn slot_labels(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
    if layout.column < layout.small {
        // Past about 110 switches even the smallest legible labels would
        // overlap: the arrows' tooltips still name the slots.
        out.text(
            &[("x", &PLOT_LEFT), ("y", &px(top + 12.0))],
            &"Too many switches to label each one: hover over an arrow for the slots it wrote and read.",
        );
        return top + 20.0;
    }
    let labels: Vec<String> = timeline
        .switches
        .iter()
        .map(|switch| slot_label(timeline, switch))
        .collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    // An average glyph is about 0.6 of the font size wide.
    let height = (longest as f64 * layout.small * 0.6).ceil() + 4.0;
    out.open("g", &[("class", &"slots")]);
    for (line, text) in wrap("what the switch did with the leaving RSP", 16)
        .iter()
        .enumerate()
    {
        out.text(
            &[
                ("class", &"caption"),
                ("x", &(PLOT_LEFT - 8.0)),
                ("y", &px(top + 12.0 + 13.0 * line as f64)),
            ],
            text,
        );
    }
    for (index, (switch, label)) in timeline.switches.iter().zip(&labels).enumerate() {
        let x = px(layout.x(index + 1) + layout.small * 0.35);
        let y = px(top + 2.0);
        let n: &dyn Display = &switch.n;
        out.text(
            &[
                (
                    "class",
                    &format_args!("slot {}", leaving_class(switch.kind.leaving())),
                ),
                ("data-n", n),
                ("x", &x),
                ("y", &y),
                ("transform", &format_args!("rotate(-90 {x} {y})")),
            ],
            label,
        );
    }
    out.close("g");
    top + height
}

/// A chart per stack: its depth at each switch, and its high-water mark;
/// returns the y below them.
fn stacks(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
    out.text(
        &[("class", &"heading"), ("x", &20), ("y", &top)],
        &"Stack depth at each switch: bytes below the stack's top",
    );
    let mut y = top + 10.0;
    for routine in &timeline.routines {
        let chart = StackChart::new(timeline, routine);
        let stack: &dyn Display = &routine.stack;
        out.open("g", &[("class", &"stack"), ("data-stack", stack)]);
        chart.labels(out, y);
        chart.frame(out, layout, y);
        chart.bars(out, layout, y);
        chart.high_water_line(out, layout, y);
        out.close("g");
        y += layout.chart + 12.0;
    }
    y
}

/// One stack's chart: the stack hangs from its top, as it grows, over the
/// chart's span.
struct StackChart<'t> {
    routine: &'t Routine<'t>,
    /// Its depths at the switches.
    samples: Vec<&'t DepthSample>,
    /// Its high-water mark, if reported.
    high_water: Option<&'t HighWater>,
    /// The bytes below the top that the chart's height stands for.
    span: u64,
}

impl<'t> StackChart<'t> {
    fn new(timeline: &'t Timeline<'t>, routine: &'t Routine<'t>) -> StackChart<'t> {
        let samples: Vec<&DepthSample> = timeline
            .depths
            .iter()
            .filter(|s| s.stack_of == routine.id)
            .collect();
        let high_water = timeline
            .high_water
            .iter()
            .find(|m| m.stack_of == routine.id);
        let deepest = samples
            .iter()
            .map(|s| s.depth)
            .chain(high_water.map(|m| m.bytes))
            .max()
            .unwrap_or(0);
        StackChart {
            routine,
            samples,
            high_water,
            span: chart_span(routine.size(), deepest),
        }
    }

    /// Whether the chart shows only the top part of the stack.
    fn zoomed(&self) -> bool {
        self.span < self.routine.size()
    }

    /// The chart's height in pixels for `bytes` below the top, at most the
    /// whole chart.
    fn height_of(&self, bytes: u64, layout: &Layout) -> f64 {
        (bytes as f64 / self.span.max(1) as f64).min(1.0) * layout.chart
    }

    /// The stack's name, size, what the chart shows of it and how deep it
    /// went, to the left of the chart at `y`.
    fn labels(&self, out: &mut Xml, y: f64) {
        let routine = self.routine;
        let stack: &dyn Display = &routine.stack;
        out.text(
            &[
                ("class", &"stack-name"),
                ("x", &(PLOT_LEFT - 8.0)),
                ("y", &px(y + 12.0)),
            ],
            stack,
        );
        let size = if self.zoomed() {
            format!("{} B, top {} B shown", routine.size(), self.span)
        } else {
            format!("{} bytes", routine.size())
        };
        let deepest = self.samples.iter().map(|s| s.depth).max();
        let detail = if self.samples.iter().any(|s| s.overflowed) {
            "overflowed".to_owned()
        } else if let Some(bytes) = deepest {
            format!("deepest seen: {bytes} B")
        } else {
            "never seen".to_owned()
        };
        for (line, text) in [size, detail].iter().enumerate() {
            out.text(
                &[
                    ("class", &"note"),
                    ("x", &(PLOT_LEFT - 8.0)),
                    ("y", &px(y + 23.0 + 10.0 * line as f64)),
                ],
                text,
            );
        }
    }

    /// The frame, and the scale to its right: `top` and the bytes the
    /// chart's bottom stands for.
    fn frame(&self, out: &mut Xml, layout: &Layout, y: f64) {
        out.leaf(
            "rect",
            &[
                ("class", &"frame"),
                ("x", &PLOT_LEFT),
                ("y", &px(y)),
                ("width", &px(PLOT_RIGHT - PLOT_LEFT)),
                ("height", &layout.chart),
            ],
        );
        let bottom = format!("{} B", self.span);
        for (label, at) in [("top", y + 8.0), (bottom.as_str(), y + layout.chart)] {
            out.text(
                &[
                    ("class", &"scale"),
                    ("x", &(PLOT_RIGHT + 3.0)),
                    ("y", &px(at)),
                ],
                &label,
            );
        }
    }

    /// A bar per depth sample, centred on its switch, with its figure
    /// where there is room, or a red bar and a note where RSP was past the
    /// bottom.
    fn bars(&self, out: &mut Xml, layout: &Layout, y: f64) {
        let width = (layout.column * 0.5).clamp(1.5, 10.0);
        let routine = self.routine;
        let class = format!("depth {}", colour(routine.id));
        for sample in &self.samples {
            let bar = self.height_of(sample.depth, layout).max(1.0);
            // Kept inside the chart: the fault's sample sits at the very end.
            let left = (layout.x(sample.step) - width / 2.0).min(PLOT_RIGHT - width);
            let class: &dyn Display = if sample.overflowed {
                &"depth overflowed"
            } else {
                &class
            };
            out.open(
                "rect",
                &[
                    ("class", class),
                    ("x", &px(left)),
                    ("y", &px(y)),
                    ("width", &px(width)),
                    ("height", &px(bar)),
                ],
            );
            let note = if sample.overflowed {
                ", below its bottom: overflow"
            } else {
                ""
            };
            out.text_element(
                "title",
                &[],
                &format_args!(
                    "{}: {} B below the top at step {} (RSP {:#018x}){note}",
                    routine.stack, sample.depth, sample.step, sample.rsp
                ),
            );
            out.close("rect");
            if sample.overflowed {
                out.text(
                    &[
                        ("class", &"overflow-label"),
                        ("x", &px(left - 3.0)),
                        ("y", &px(y + layout.chart / 2.0 + 4.0)),
                    ],
                    &"RSP below the bottom",
                );
            } else if layout.column >= 24.0 {
                out.text(
                    &[
                        ("class", &"figure"),
                        ("x", &px(left + width / 2.0)),
                        ("y", &px(y + bar + 9.0)),
                    ],
                    &sample.depth,
                );
            }
        }
    }

    /// The high-water mark as a dashed line across the chart, labelled.
    fn high_water_line(&self, out: &mut Xml, layout: &Layout, y: f64) {
        let Some(mark) = self.high_water else {
            return;
        };
        let line_y = px(y + self.height_of(mark.bytes, layout));
        out.open("g", &[("class", &"high-water")]);
        out.line(
            &[("class", &"high-water-line")],
            (PLOT_LEFT, line_y),
            (PLOT_RIGHT, line_y),
        );
        out.text(
            &[("x", &(PLOT_RIGHT - 4.0)), ("y", &px(line_y + 11.0))],
            &format_args!("high water {} of {} B", mark.bytes, mark.size),
        );
        out.close("g");
    }
}

/// The bytes below a stack's top that its chart spans: the whole stack,
/// unless all that was seen of it (`deepest`) stays within its top
/// sixteenth, which would draw as slivers of under 4 px: then the smallest
/// power of two, at least 256, that holds it with a quarter to spare.
/// main's 65,536-byte stack is used to about 1.4 KiB.
fn chart_span(size: u64, deepest: u64) -> u64 {
    if deepest.saturating_mul(16) >= size {
        return size;
    }
    (deepest + deepest / 4).next_power_of_two().clamp(256, size)
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

/// Writes XML elements one after the other, escaping every attribute value
/// and text.
#[derive(Default)]
struct Xml {
    out: String,
}

/// An element's attributes: names are this file's own, values anything
/// printable.
type Attributes<'a> = [(&'a str, &'a dyn Display)];

impl Xml {
    fn start(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            let _ = write!(self.out, " {key}=\"");
            self.escaped(value);
            self.out.push('"');
        }
    }

    /// `<name ...>`: children follow until [`Xml::close`].
    fn open(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.start(name, attributes);
        self.out.push_str(">\n");
    }

    /// `<name .../>`.
    fn leaf(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.start(name, attributes);
        self.out.push_str("/>\n");
    }

    /// `<line>` from `(x1, y1)` to `(x2, y2)`, with `attributes` (a class)
    /// first.
    fn line(&mut self, attributes: &Attributes<'_>, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
        let ends: [(&str, &dyn Display); 4] = [("x1", &x1), ("y1", &y1), ("x2", &x2), ("y2", &y2)];
        let all: Vec<(&str, &dyn Display)> = attributes.iter().chain(&ends).copied().collect();
        self.leaf("line", &all);
    }

    /// `<text ...>text</text>`.
    fn text(&mut self, attributes: &Attributes<'_>, text: &dyn Display) {
        self.text_element("text", attributes, text);
    }

    /// `<name ...>text</name>`.
    fn text_element(&mut self, name: &str, attributes: &Attributes<'_>, text: &dyn Display) {
        self.start(name, attributes);
        self.out.push('>');
        self.escaped(text);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// `</name>`.
    fn close(&mut self, name: &str) {
        let _ = writeln!(self.out, "</{name}>");
    }

    /// Writes `value` with the five characters XML reserves escaped.
    fn escaped(&mut self, value: &dyn Display) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::{FAULT, TWO, round_robin};
    use roxmltree::{Document, Node};

    fn picture(text: &str) -> String {
        svg(&Timeline::parse(text).unwrap())
    }

    /// The value of `property` in the style sheet's rule for `selector`
    /// (one rule per line, as [`style_sheet`] writes them).
    fn css(document: &Document<'_>, selector: &str, property: &str) -> String {
        let sheet = document
            .descendants()
            .find(|n| n.has_tag_name("style"))
            .and_then(|n| n.text())
            .expect("a style sheet");
        let rule = sheet
            .lines()
            .find_map(|line| {
                let (selectors, body) = line.split_once(" {")?;
                selectors.split(", ").any(|s| s == selector).then_some(body)
            })
            .unwrap_or_else(|| panic!("no rule for {selector} in {sheet}"));
        rule.trim_end_matches('}')
            .split(';')
            .find_map(|decl| {
                let (name, value) = decl.split_once(':')?;
                (name.trim() == property).then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {property} for {selector}: {rule}"))
    }

    /// The texts drawn in `node`, in order.
    fn texts<'n>(node: Node<'n, 'n>) -> Vec<&'n str> {
        node.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect()
    }

    /// The classes of `node`.
    fn classes<'n>(node: &Node<'n, 'n>) -> Vec<&'n str> {
        node.attribute("class")
            .map_or(Vec::new(), |c| c.split(' ').collect())
    }

    /// The elements with `class` in `document`.
    fn with_class<'d>(
        document: &'d roxmltree::Document<'d>,
        class: &str,
    ) -> Vec<roxmltree::Node<'d, 'd>> {
        document
            .descendants()
            .filter(|node| node.attribute("class") == Some(class))
            .collect()
    }

    #[test]
    fn the_picture_is_well_formed_with_a_lane_per_routine_and_an_arrow_per_switch() {
        for (text, routines, switches) in [(TWO, 3, 20), (FAULT, 3, 5)] {
            let markup = picture(text);
            let document = roxmltree::Document::parse(&markup).unwrap();
            assert_eq!(document.root_element().tag_name().name(), "svg");
            let lanes: Vec<_> = with_class(&document, "lane")
                .iter()
                .map(|lane| lane.attribute("data-routine").unwrap().to_owned())
                .collect();
            assert_eq!(lanes.len(), routines);
            assert_eq!(lanes[..2], ["main", "coroutine1"]);
            let arrows = with_class(&document, "switch");
            assert_eq!(arrows.len(), switches);
            for arrow in arrows {
                assert_eq!(
                    arrow.children().filter(|c| c.has_tag_name("line")).count(),
                    1
                );
            }
        }
    }

    #[test]
    fn names_and_slots_are_real_text() {
        let markup = picture(TWO);
        let document = roxmltree::Document::parse(&markup).unwrap();
        let texts = texts(document.root());
        for expected in [
            "coroutine2",
            "call → main_context",
            "yield → coro1_context",
            "return: saved nowhere",
        ] {
            assert!(texts.contains(&expected), "no text {expected:?}");
        }
        let bytes = Timeline::parse(TWO).unwrap().high_water[0].bytes;
        let mark = format!("high water {bytes} of 4096");
        assert!(texts.iter().any(|t| t.starts_with(&mark)), "no {mark:?}");
    }

    #[test]
    fn a_kernel_without_routines_gets_a_sentence_not_empty_lanes() {
        let text = "fault who=0 switch=0 rsp=0x10 tsc=1 what=PANIC: boom (x.rs:1:1)\nexit code=failed switches=0 tsc=2\n";
        let doc = picture(text);
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        let texts = texts(parsed.root());
        assert!(
            texts.iter().any(|t| t.starts_with("No routine lines")),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.contains("PANIC: boom")), "{texts:?}");
        assert!(
            !parsed
                .descendants()
                .any(|n| n.attribute("class") == Some("lane"))
        );
    }

    #[test]
    fn a_fault_is_marked_and_its_sentence_printed() {
        let markup = picture(FAULT);
        let document = roxmltree::Document::parse(&markup).unwrap();
        assert_eq!(with_class(&document, "fault").len(), 1);
        assert!(markup.contains("Fault: coroutine1 overflowed its 4096-byte stack"));
        let clean = picture(TWO);
        assert!(!clean.contains("class=\"fault\""));
    }

    #[test]
    fn the_per_switch_labels_never_overlap_even_with_eighty_switches() {
        let markup = picture(&round_robin(8, 5));
        let document = roxmltree::Document::parse(&markup).unwrap();
        assert_eq!(with_class(&document, "lane").len(), 9);
        assert_eq!(with_class(&document, "switch").len(), 80);
        let slots = with_class(&document, "slots")[0];
        let size: f64 = css(&document, ".slots text", "font-size")
            .trim_end_matches("px")
            .parse()
            .unwrap();
        let mut xs: Vec<f64> = slots
            .children()
            .filter(|n| n.has_tag_name("text") && n.attribute("transform").is_some())
            .map(|n| n.attribute("x").unwrap().parse().unwrap())
            .collect();
        assert_eq!(xs.len(), 80);
        xs.sort_by(f64::total_cmp);
        // Upright labels are one line high: a font size apart is enough.
        assert!(xs.windows(2).all(|w| w[1] - w[0] >= size), "{xs:?}");
        assert!(size >= 6.5);
    }

    #[test]
    fn quotes_and_angle_brackets_in_names_are_escaped() {
        let text = TWO.replace("name=coroutine2", "name=<co\"2&>");
        let markup = picture(&text);
        let document = roxmltree::Document::parse(&markup).unwrap();
        assert!(
            with_class(&document, "lane")
                .iter()
                .any(|lane| lane.attribute("data-routine") == Some("<co\"2&>"))
        );
    }

    #[test]
    fn past_the_room_for_labels_the_picture_says_so_instead_of_overlapping() {
        let markup = picture(&round_robin(8, 10));
        let document = roxmltree::Document::parse(&markup).unwrap();
        assert_eq!(with_class(&document, "switch").len(), 160);
        assert!(with_class(&document, "slots").is_empty());
        assert!(markup.contains("Too many switches to label each one"));
    }

    #[test]
    fn no_events_at_all_still_make_a_well_formed_picture() {
        let markup = picture("");
        let document = roxmltree::Document::parse(&markup).unwrap();
        assert!(with_class(&document, "lane").is_empty());
        assert!(markup.contains("0 switches, ended: the event lines stop here"));
    }

    #[test]
    fn every_switch_arrow_and_label_say_the_same() {
        for text in [TWO, FAULT, &round_robin(8, 5)] {
            let markup = picture(text);
            let document = Document::parse(&markup).unwrap();
            let labels = with_class(&document, "slots")[0]
                .children()
                .filter(|n| n.attribute("data-n").is_some())
                .collect::<Vec<_>>();
            let arrows = with_class(&document, "switch");
            assert_eq!(arrows.len(), labels.len());
            assert!(!arrows.is_empty());
            for (group, label) in arrows.iter().zip(&labels) {
                let n = group.attribute("data-n").unwrap();
                assert_eq!(label.attribute("data-n"), Some(n));
                let line = group.children().find(|c| c.has_tag_name("line")).unwrap();
                let arrow = classes(&line);
                let said = classes(label);
                assert_eq!((arrow[0], said[0]), ("arrow", "slot"), "#{n}");
                // One meaning for both marks...
                let meaning = arrow[1];
                assert_eq!(said[1], meaning, "#{n}");
                // ...which is the rule of the switch's kind, named first
                // in the label...
                let words = label.text().unwrap();
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| words.starts_with(k.as_str()))
                    .unwrap_or_else(|| panic!("#{n}: {words}"));
                assert_eq!(leaving_class(kind.leaving()), meaning, "#{n}: {words}");
                // ...said in the label's words...
                let worded = match meaning {
                    "saved" => words.contains(" → "),
                    "lost" => words.ends_with("saved nowhere"),
                    "emptied" => words.ends_with("emptied"),
                    other => panic!("#{n}: unknown arrow {other}"),
                };
                assert!(worded, "#{n} {meaning}: {words}");
                // ...and drawn in one colour: the arrow's stroke is the
                // label's fill, and only the loss is dashed red.
                let selector = |what: &str| format!(".{what}.{meaning}");
                let stroke = css(&document, &selector("arrow"), "stroke");
                assert_eq!(stroke, css(&document, &selector("slot"), "fill"), "#{n}");
                assert_eq!(stroke == palette::RED, meaning == "lost", "#{n}");
            }
        }
    }

    #[test]
    fn colours_and_fonts_are_set_only_by_the_style_sheet() {
        for text in [TWO, FAULT] {
            let markup = picture(text);
            let document = Document::parse(&markup).unwrap();
            for node in document.descendants().filter(|n| n.is_element()) {
                for attribute in node.attributes() {
                    assert!(
                        ![
                            "style",
                            "fill",
                            "stroke",
                            "stroke-width",
                            "stroke-dasharray",
                            "font-size",
                            "font-family",
                            "font-weight",
                            "text-anchor",
                            "marker-end",
                        ]
                        .contains(&attribute.name()),
                        "<{}> has {}",
                        node.tag_name().name(),
                        attribute.name()
                    );
                }
            }
            let body = &markup[markup.find("</style>").unwrap()..];
            for colour in palette::ROUTINES
                .iter()
                .chain(&[palette::RED, palette::INK])
            {
                assert!(!body.contains(colour), "{colour} outside the style sheet");
            }
        }
    }

    #[test]
    fn main_s_stack_is_charted_over_its_used_top_and_says_its_full_size() {
        let markup = picture(TWO);
        let document = Document::parse(&markup).unwrap();
        let stacks = with_class(&document, "stack");
        let main = texts(stacks[0]);
        let deepest = Timeline::parse(TWO)
            .unwrap()
            .depths
            .iter()
            .filter(|s| s.stack_of == 0)
            .map(|s| s.depth)
            .max()
            .unwrap();
        let span = chart_span(65536, deepest);
        assert!(span < 65536 && span > deepest, "{span} for {deepest}");
        assert!(
            main.contains(&&*format!("65536 B, top {span} B shown")),
            "{main:?}"
        );
        assert!(main.contains(&&*format!("{span} B")), "{main:?}");
        // A coroutine's stack, used to nearly half, is charted whole.
        assert!(
            main.contains(&&*format!("deepest seen: {deepest} B")),
            "{main:?}"
        );
        let c1 = texts(stacks[1]);
        assert!(c1.contains(&"4096 bytes"), "{c1:?}");
        assert!(c1.contains(&"4096 B"), "{c1:?}");
        // main's deepest bar is most of the chart, not a sliver.
        let bars: Vec<f64> = stacks[0]
            .children()
            .filter(|n| classes(n).contains(&"depth"))
            .map(|n| n.attribute("height").unwrap().parse().unwrap())
            .collect();
        let tallest = bars.iter().copied().fold(0.0, f64::max);
        assert!(tallest > 0.5 * 60.0, "{bars:?}");
    }

    #[test]
    fn the_chart_span_zooms_only_on_a_stack_used_near_its_top() {
        assert_eq!(chart_span(65536, 1376), 2048);
        assert_eq!(chart_span(65536, 0), 256);
        assert_eq!(chart_span(4096, 1968), 4096);
        assert_eq!(chart_span(4096, 616), 4096);
        assert_eq!(chart_span(4096, 200), 256);
        assert_eq!(chart_span(4096, 4096), 4096);
    }

    #[test]
    fn the_legend_shows_the_lanes_colours_and_only_the_marks_drawn() {
        let markup = picture(TWO);
        let document = Document::parse(&markup).unwrap();
        let legend = with_class(&document, "legend")[0];
        let first_lanes: Vec<&str> = with_class(&document, "lane")
            .iter()
            .take(3)
            .map(|lane| {
                let bar = lane
                    .children()
                    .find(|n| classes(n).contains(&"run"))
                    .unwrap();
                classes(&bar)[1]
            })
            .collect();
        let runs_swatch: Vec<&str> = legend
            .children()
            .take_while(|n| !n.has_tag_name("text"))
            .filter_map(|n| n.attribute("class"))
            .collect();
        assert_eq!(runs_swatch, first_lanes);
        assert_eq!(first_lanes[0], "r0", "main's colour first");
        let arrows: Vec<&str> = legend
            .descendants()
            .filter(|n| classes(n).first() == Some(&"arrow"))
            .map(|n| classes(&n)[1])
            .collect();
        assert_eq!(arrows, ["saved", "lost", "emptied"]);
        let texts: Vec<&str> = legend.children().filter_map(|n| n.text()).collect();
        assert!(
            texts.contains(&"return: the leaving RSP saved nowhere (the original's flaw)"),
            "{texts:?}"
        );
        assert!(!texts.iter().any(|t| t.starts_with("fault")), "{texts:?}");
        // round_robin has no return, so its legend has no flaw arrow.
        let markup = picture(&round_robin(3, 2));
        let document = Document::parse(&markup).unwrap();
        let legend = with_class(&document, "legend")[0];
        let arrows: Vec<&str> = legend
            .descendants()
            .filter(|n| classes(n).first() == Some(&"arrow"))
            .map(|n| classes(&n)[1])
            .collect();
        assert_eq!(arrows, ["saved", "emptied"]);
    }

    #[test]
    fn a_cut_last_line_is_said_under_the_title() {
        let cut = &TWO[..TWO.find("kind=resume").unwrap() + 8];
        let markup = picture(cut);
        assert!(markup.contains("The last event line was cut short"));
        assert!(markup.contains("4 switches, ended: the event lines stop here"));
        // main's `leave` for switch 5 was written whole before the cut: the
        // picture says the switch started and never arrived, and main's
        // last bar ends in the middle of it.
        let timeline = Timeline::parse(cut).unwrap();
        let left = timeline.unfinished_switch().unwrap();
        assert_eq!((left.n, left.from), (5, 0));
        let document = Document::parse(&markup).unwrap();
        let said = format!(
            "Switch #5 never arrived: main left for it at RSP {:#018x}, and no switch line followed.",
            left.rsp
        );
        assert!(texts(document.root()).contains(&said.as_str()), "{said}");
        let last_bar = document
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text())
            .rfind(|t| t.starts_with("main runs from"))
            .unwrap();
        assert_eq!(
            last_bar,
            format!(
                "main runs from #4 return to the end, in the middle of switch #5, leaving at RSP {:#018x}",
                left.rsp
            )
        );
    }

    #[test]
    fn wrapping_keeps_lines_short_and_words_whole() {
        let lines = wrap("one two three four five", 9);
        assert_eq!(lines, ["one two", "three", "four five"]);
    }
}
