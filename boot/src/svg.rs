//! A run as one self-contained SVG picture, for a browser or a README.
//!
//! Read from top to bottom:
//!
//! - a **lane per routine** over the switch number, with a bar wherever that
//!   routine runs, and at each switch an **arrow** from the lane that left to
//!   the lane that arrived (dashed red where the leaving RSP was saved
//!   nowhere: the original program's `return`);
//! - under the switch numbers, **the slot each switch wrote** the leaving RSP
//!   to, written upright so that neighbouring labels do not overlap (past
//!   about 110 switches there is no room left, and only the arrows'
//!   tooltips name the slots);
//! - a small chart per **stack**: how far below its top RSP was at each
//!   switch, drawn against the stack's whole size, with the high-water mark
//!   as a labelled line;
//! - a legend. A fault ends its routine's last bar with a red cross, and its
//!   sentence is printed under the title.
//!
//! The x axis is the switch's place in the run (see [`crate::timeline`]):
//! the emulated time-stamp counter would mostly show the logging.
//!
//! The markup is written by [`Xml`], a few lines below, rather than with the
//! `svg` crate: that crate (0.18) escapes `&`, `<` and `>` but not `"` in
//! attribute values, so a name with a quote in it would break the file, and
//! its builder adds nothing this picture needs beyond writing elements.

use crate::timeline::{DepthSample, End, Routine, Timeline, saves_leaving_side, switch_title};
use protocol::ExitCode;
use protocol::event::{Event, Id, Switch};
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
/// main's colour, then the coroutines' in turn (Tableau 10, less its red,
/// which is kept for the flaw and faults).
const COLOURS: [&str; 9] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac",
];
/// Faults and the original's unsaved return.
const RED: &str = "#d62728";
/// Arrows and axes.
const INK: &str = "#333333";

/// The events of a run as an SVG document.
pub fn svg(events: &[Event<'_>]) -> String {
    let timeline = Timeline::new(events);
    let layout = Layout::new(&timeline);
    let mut body = Xml::default();
    let mut y = title(&mut body, &timeline, 30.0);
    if timeline.routines.is_empty() {
        // A kernel without a roster (the test kernels): nothing to draw
        // but the title, and a sentence saying why.
        y += 18.0;
        body.text_element(
            "text",
            &[("x", &20), ("y", &px(y)), ("font-size", &12), ("fill", &INK)],
            &"No routine lines: this kernel declares no coroutines, so there are no lanes or stacks to draw.",
        );
    } else {
        y = lanes(&mut body, &timeline, &layout, y + 10.0);
        y = slot_labels(&mut body, &timeline, &layout, y);
        y = stacks(&mut body, &timeline, &layout, y + 14.0);
        y = legend(&mut body, y + 16.0);
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
            ("font-family", &FONT),
        ],
    );
    doc.text_element("title", &[], &heading(&timeline));
    defs(&mut doc);
    doc.leaf(
        "rect",
        &[("width", &WIDTH), ("height", &height), ("fill", &"white")],
    );
    doc.out.push_str(&body.out);
    doc.close("svg");
    doc.out
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
            small: (column - 2.0).clamp(6.5, 11.0),
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

/// The colour of routine `id`.
fn colour(id: Id) -> &'static str {
    match id {
        0 => COLOURS[0],
        id => COLOURS[1 + (id as usize - 1) % (COLOURS.len() - 1)],
    }
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

/// The arrowheads: one per colour, since a marker does not take the colour
/// of the line it ends.
fn defs(doc: &mut Xml) {
    doc.open("defs", &[]);
    for (id, fill) in [("head", INK), ("head-flaw", RED)] {
        doc.open(
            "marker",
            &[
                ("id", &id),
                ("viewBox", &"0 0 10 10"),
                ("refX", &9),
                ("refY", &5),
                ("markerWidth", &7),
                ("markerHeight", &7),
                ("orient", &"auto"),
            ],
        );
        doc.leaf("path", &[("d", &"M0,0 L10,5 L0,10 z"), ("fill", &fill)]);
        doc.close("marker");
    }
    doc.close("defs");
}

/// Title, summary, phases and a fault's sentence; returns the y below them.
fn title(out: &mut Xml, timeline: &Timeline<'_>, mut y: f64) -> f64 {
    let left: &dyn Display = &20;
    out.text_element(
        "text",
        &[
            ("x", left),
            ("y", &y),
            ("font-size", &18),
            ("font-weight", &"bold"),
        ],
        &heading(timeline),
    );
    y += 22.0;
    let ended = match &timeline.end {
        End::Exit {
            code: ExitCode::Success,
            ..
        } => "ended: exit, success".to_owned(),
        End::Exit {
            code: ExitCode::Failed,
            ..
        } => "ended: exit, failed".to_owned(),
        End::Fault { who, .. } => format!("ended: fault in {}", timeline.name(*who)),
        End::Cut => "ended: the event lines stop here (no exit, no fault)".to_owned(),
    };
    let switches = timeline.switches.len();
    let mut lines = vec![format!("{switches} switches, {ended}.")];
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
        out.text_element("text", &[("x", left), ("y", &y), ("font-size", &12)], &line);
        y += 16.0;
    }
    if let End::Fault { what, .. } = &timeline.end {
        for line in wrap(&format!("Fault: {what}"), 130) {
            out.text_element(
                "text",
                &[("x", left), ("y", &y), ("font-size", &12), ("fill", &RED)],
                &line,
            );
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
    out.open("g", &[("class", &"phases"), ("font-size", &11)]);
    for phase in &timeline.phases {
        let x = if phase.step == 0 {
            PLOT_LEFT
        } else {
            layout.x(phase.step) + layout.column / 2.0
        };
        if phase.step > 0 {
            out.line(
                (px(x), top),
                (px(x), lanes_bottom),
                &[("stroke", &"#999999"), ("stroke-dasharray", &"4 3")],
            );
        }
        out.text_element(
            "text",
            &[
                ("x", &px(x + 4.0)),
                ("y", &(top + 11.0)),
                ("fill", &"#555555"),
            ],
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
    let end_x = layout.x(timeline.end_step());
    match &timeline.end {
        End::Fault { what, .. } => {
            if let Some(y) = fault_lane {
                let (x, r) = (px(end_x), layout.lane * 0.3);
                out.open("g", &[("class", &"fault")]);
                out.text_element("title", &[], what);
                out.leaf(
                    "path",
                    &[
                        (
                            "d",
                            &format_args!(
                                "M{},{} l{},{} m0,{} l{},{}",
                                x - r,
                                y - r,
                                2.0 * r,
                                2.0 * r,
                                -2.0 * r,
                                -2.0 * r,
                                2.0 * r
                            ),
                        ),
                        ("stroke", &RED),
                        ("stroke-width", &3),
                    ],
                );
                out.text_element(
                    "text",
                    &[
                        ("x", &px(x + r + 3.0)),
                        ("y", &px(y + 4.0)),
                        ("font-size", &11),
                        ("fill", &RED),
                        ("font-weight", &"bold"),
                    ],
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
            out.line(
                (px(end_x), lanes_top),
                (px(end_x), lanes_bottom),
                &[("stroke", &INK), ("stroke-width", &2)],
            );
            out.text_element(
                "text",
                &[
                    ("x", &px(end_x)),
                    ("y", &(lanes_top - 3.0)),
                    ("font-size", &11),
                    ("text-anchor", &"middle"),
                ],
                &label,
            );
        }
    }
}

/// One routine's lane: its name and a bar for each stretch it runs.
fn lane(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, routine: &Routine<'_>, y: f64) {
    let name: &dyn Display = &routine.name;
    out.open("g", &[("class", &"lane"), ("data-routine", name)]);
    let stripe = if routine.id % 2 == 0 {
        "#f4f4f4"
    } else {
        "#ffffff"
    };
    out.leaf(
        "rect",
        &[
            ("x", &PLOT_LEFT),
            ("y", &px(y)),
            ("width", &px(PLOT_RIGHT - PLOT_LEFT)),
            ("height", &layout.lane),
            ("fill", &stripe),
        ],
    );
    out.text_element(
        "text",
        &[
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(y + layout.lane / 2.0 + 1.0)),
            ("font-size", &12),
            ("text-anchor", &"end"),
        ],
        name,
    );
    // Its slot's name, which the labels under the switches use.
    out.text_element(
        "text",
        &[
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(y + layout.lane / 2.0 + 11.0)),
            ("font-size", &9),
            ("text-anchor", &"end"),
            ("fill", &"#666666"),
        ],
        &format_args!("slot {}", routine.slot),
    );
    let bar = layout.lane * 0.5;
    for run in timeline.runs.iter().filter(|run| run.who == routine.id) {
        // A pixel's gap at each end leaves room for the switch arrows.
        let left = layout.x(run.start) + 1.0;
        let width = (layout.x(run.end) - 1.0 - left).max(1.0);
        out.open(
            "rect",
            &[
                ("x", &px(left)),
                ("y", &px(y + (layout.lane - bar) / 2.0)),
                ("width", &px(width)),
                ("height", &px(bar)),
                ("rx", &2),
                ("fill", &colour(routine.id)),
            ],
        );
        out.text_element(
            "title",
            &[],
            &format_args!(
                "{} runs from {} to {}",
                routine.name,
                run.came_in
                    .as_ref()
                    .map_or("the start".into(), switch_title),
                run.went_out.as_ref().map_or("the end".into(), switch_title),
            ),
        );
        out.close("rect");
    }
    out.close("g");
}

/// The arrow of the switch at `step`, from the leaving lane's centre
/// (`from`) to the arriving one's (`to`).
fn arrow(
    out: &mut Xml,
    timeline: &Timeline<'_>,
    layout: &Layout,
    switch: &Switch,
    step: usize,
    from: f64,
    to: f64,
) {
    let saved = saves_leaving_side(switch.kind);
    let x = px(layout.x(step));
    let n: &dyn Display = &switch.n;
    out.open("g", &[("class", &"switch"), ("data-n", n)]);
    out.text_element("title", &[], &describe(timeline, switch));
    let (colour, head) = if saved {
        (INK, "url(#head)")
    } else {
        (RED, "url(#head-flaw)")
    };
    let dash: &dyn Display = if saved { &"none" } else { &"3 2" };
    out.line(
        (x, px(from)),
        (x, px(to)),
        &[
            ("stroke", &colour),
            ("stroke-width", &layout.stroke),
            ("stroke-dasharray", dash),
            ("marker-end", &head),
        ],
    );
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
    out.open(
        "g",
        &[("class", &"axis"), ("font-size", &10), ("fill", &INK)],
    );
    out.line((PLOT_LEFT, px(y)), (PLOT_RIGHT, px(y)), &[("stroke", &INK)]);
    let every = layout.tick_every();
    for (index, switch) in timeline.switches.iter().enumerate() {
        let step = index + 1;
        let x = px(layout.x(step));
        let long = step % every == 0;
        out.line(
            (x, px(y)),
            (x, px(y + if long { 5.0 } else { 3.0 })),
            &[("stroke", &INK)],
        );
        if long {
            out.text_element(
                "text",
                &[("x", &x), ("y", &px(y + 16.0)), ("text-anchor", &"middle")],
                &switch.n,
            );
        }
    }
    out.text_element(
        "text",
        &[
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(y + 16.0)),
            ("text-anchor", &"end"),
        ],
        &"switch #",
    );
    out.close("g");
    y + 22.0
}

/// Under each switch, upright, the kind and the slot it wrote the leaving
/// RSP to; returns the y below them.
fn slot_labels(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
    if layout.column < layout.small {
        // Past about 110 switches even the smallest legible labels would
        // overlap: the arrows' tooltips still name the slots.
        out.text_element(
            "text",
            &[("x", &PLOT_LEFT), ("y", &px(top + 12.0)), ("font-size", &11)],
            &"Too many switches to label each one: hover over an arrow for the slots it wrote and read.",
        );
        return top + 20.0;
    }
    let labels: Vec<(String, bool)> = timeline
        .switches
        .iter()
        .map(|switch| {
            let kind = switch.kind.as_str();
            match (switch.wrote, switch.stored) {
                (Some(id), Some(0)) => (format!("{kind}: {} = 0", timeline.slot(id)), true),
                (Some(id), _) if saves_leaving_side(switch.kind) => {
                    (format!("{kind} → {}", timeline.slot(id)), true)
                }
                _ => (format!("{kind}: saved nowhere"), false),
            }
        })
        .collect();
    let longest = labels
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    // An average glyph is about 0.6 of the font size wide.
    let height = (longest as f64 * layout.small * 0.6).ceil() + 4.0;
    out.open("g", &[("class", &"slots"), ("font-size", &layout.small)]);
    for (line, text) in wrap("slot that got the leaving RSP", 16).iter().enumerate() {
        out.text_element(
            "text",
            &[
                ("x", &(PLOT_LEFT - 8.0)),
                ("y", &px(top + 12.0 + 13.0 * line as f64)),
                ("font-size", &10),
                ("text-anchor", &"end"),
            ],
            text,
        );
    }
    for (index, (label, saved)) in labels.iter().enumerate() {
        let x = px(layout.x(index + 1) + layout.small * 0.35);
        let y = px(top + 2.0);
        let fill: &dyn Display = if *saved { &INK } else { &RED };
        out.text_element(
            "text",
            &[
                ("x", &x),
                ("y", &y),
                ("transform", &format_args!("rotate(-90 {x} {y})")),
                ("text-anchor", &"end"),
                ("fill", fill),
            ],
            label,
        );
    }
    out.close("g");
    top + height
}

/// A chart per stack: its depth at each switch against its whole size, and
/// its high-water mark; returns the y below them.
fn stacks(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
    out.text_element(
        "text",
        &[
            ("x", &20),
            ("y", &top),
            ("font-size", &12),
            ("font-weight", &"bold"),
        ],
        &"Stack depth at each switch: bytes below the stack's top, against its whole size",
    );
    let mut y = top + 10.0;
    for routine in &timeline.routines {
        let samples: Vec<&DepthSample> = timeline
            .depths
            .iter()
            .filter(|s| s.stack_of == routine.id)
            .collect();
        stack_chart(out, timeline, layout, routine, &samples, y);
        y += layout.chart + 12.0;
    }
    y
}

/// One stack's chart at `y`: the stack hangs from its top, as it grows.
fn stack_chart(
    out: &mut Xml,
    timeline: &Timeline<'_>,
    layout: &Layout,
    routine: &Routine<'_>,
    samples: &[&DepthSample],
    y: f64,
) {
    let size = routine.size().max(1) as f64;
    let h = layout.chart;
    let stack: &dyn Display = &routine.stack;
    out.open("g", &[("class", &"stack"), ("data-stack", stack)]);
    out.text_element(
        "text",
        &[
            ("x", &(PLOT_LEFT - 8.0)),
            ("y", &px(y + 12.0)),
            ("font-size", &11),
            ("text-anchor", &"end"),
        ],
        stack,
    );
    let deepest = samples.iter().map(|s| s.depth).max();
    let detail = if samples.iter().any(|s| s.overflowed) {
        "overflowed".to_owned()
    } else if let Some(bytes) = deepest {
        format!("deepest at a switch: {bytes} B")
    } else {
        "not seen at a switch".to_owned()
    };
    for (line, text) in [format!("{} bytes", routine.size()), detail]
        .iter()
        .enumerate()
    {
        out.text_element(
            "text",
            &[
                ("x", &(PLOT_LEFT - 8.0)),
                ("y", &px(y + 23.0 + 10.0 * line as f64)),
                ("font-size", &9),
                ("text-anchor", &"end"),
                ("fill", &"#555555"),
            ],
            text,
        );
    }
    out.leaf(
        "rect",
        &[
            ("x", &PLOT_LEFT),
            ("y", &px(y)),
            ("width", &px(PLOT_RIGHT - PLOT_LEFT)),
            ("height", &h),
            ("fill", &"#fafafa"),
            ("stroke", &"#bbbbbb"),
        ],
    );
    for (label, at) in [("top", 0.0), (&*format!("{} B", routine.size()), h)] {
        out.text_element(
            "text",
            &[
                ("x", &(PLOT_RIGHT + 3.0)),
                ("y", &px(y + at + if at == 0.0 { 8.0 } else { 0.0 })),
                ("font-size", &8),
                ("fill", &"#777777"),
            ],
            &label,
        );
    }
    let width = (layout.column * 0.5).clamp(1.5, 10.0);
    for sample in samples {
        let bar = (sample.depth as f64 / size * h).max(1.0);
        let fill = if sample.overflowed {
            RED
        } else {
            colour(routine.id)
        };
        // Centred on its switch, but kept inside the chart: the fault's
        // sample sits at the very end.
        let left = (layout.x(sample.step) - width / 2.0).min(PLOT_RIGHT - width);
        out.open(
            "rect",
            &[
                ("x", &px(left)),
                ("y", &px(y)),
                ("width", &px(width)),
                ("height", &px(bar)),
                ("fill", &fill),
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
        // The figure itself, where there is room for it.
        if sample.overflowed {
            out.text_element(
                "text",
                &[
                    ("x", &px(left - 3.0)),
                    ("y", &px(y + h / 2.0 + 4.0)),
                    ("font-size", &10),
                    ("text-anchor", &"end"),
                    ("fill", &RED),
                ],
                &"RSP below the bottom",
            );
        } else if layout.column >= 24.0 {
            out.text_element(
                "text",
                &[
                    ("x", &px(left + width / 2.0)),
                    ("y", &px(y + bar + 9.0)),
                    ("font-size", &8),
                    ("text-anchor", &"middle"),
                    ("fill", &"#555555"),
                ],
                &sample.depth,
            );
        }
    }
    if let Some(mark) = timeline
        .high_water
        .iter()
        .find(|m| m.stack_of == routine.id)
    {
        let line_y = px(y + (mark.bytes as f64 / size).min(1.0) * h);
        out.open("g", &[("class", &"high-water")]);
        out.line(
            (PLOT_LEFT, line_y),
            (PLOT_RIGHT, line_y),
            &[("stroke", &RED), ("stroke-dasharray", &"6 3")],
        );
        out.text_element(
            "text",
            &[
                ("x", &(PLOT_RIGHT - 4.0)),
                ("y", &px(line_y + 11.0)),
                ("font-size", &10),
                ("text-anchor", &"end"),
                ("fill", &RED),
            ],
            &format_args!("high water {} of {} B", mark.bytes, mark.size),
        );
        out.close("g");
    }
    out.close("g");
}

/// Draws a legend entry's sample mark, its text starting 30 px to the right
/// of `x` on the baseline `y`.
type Swatch = dyn Fn(&mut Xml, f64, f64);

/// What the marks mean; returns the y below the legend.
fn legend(out: &mut Xml, top: f64) -> f64 {
    out.open("g", &[("class", &"legend"), ("font-size", &11)]);
    let items: [(&str, &Swatch); 6] = [
        ("runs (bar in its lane)", &|out, x, y| {
            out.leaf(
                "rect",
                &[
                    ("x", &x),
                    ("y", &(y - 9.0)),
                    ("width", &22),
                    ("height", &10),
                    ("fill", &COLOURS[1]),
                ],
            );
        }),
        ("switch: the leaving RSP saved in its slot", &|out, x, y| {
            legend_arrow(out, x, y, INK, "url(#head)", "none");
        }),
        (
            "the original's return: its RSP saved nowhere",
            &|out, x, y| {
                legend_arrow(out, x, y, RED, "url(#head-flaw)", "3 2");
            },
        ),
        ("RSP depth at a switch", &|out, x, y| {
            out.leaf(
                "rect",
                &[
                    ("x", &(x + 8.0)),
                    ("y", &(y - 10.0)),
                    ("width", &6),
                    ("height", &12),
                    ("fill", &COLOURS[2]),
                ],
            );
        }),
        ("high-water mark of the stack", &|out, x, y| {
            out.line(
                (x, (y - 4.0)),
                ((x + 22.0), (y - 4.0)),
                &[("stroke", &RED), ("stroke-dasharray", &"6 3")],
            );
        }),
        ("fault: the run ends here", &|out, x, y| {
            out.leaf(
                "path",
                &[
                    (
                        "d",
                        &format_args!("M{},{} l10,10 m0,-10 l-10,10", x + 6.0, y - 10.0),
                    ),
                    ("stroke", &RED),
                    ("stroke-width", &3),
                ],
            );
        }),
    ];
    let column_width = (WIDTH - 40.0) / 3.0;
    for (index, (label, draw)) in items.iter().enumerate() {
        let x = 20.0 + column_width * (index % 3) as f64;
        let y = top + 18.0 * (index / 3) as f64;
        draw(out, x, y);
        out.text_element("text", &[("x", &(x + 30.0)), ("y", &y)], label);
    }
    out.close("g");
    top + 18.0 * items.len().div_ceil(3) as f64
}

/// A short arrow for the legend.
fn legend_arrow(out: &mut Xml, x: f64, y: f64, colour: &str, head: &str, dash: &str) {
    out.line(
        (x, (y - 4.0)),
        ((x + 22.0), (y - 4.0)),
        &[
            ("stroke", &colour),
            ("stroke-width", &1.5),
            ("stroke-dasharray", &dash),
            ("marker-end", &head),
        ],
    );
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

    /// `<line>` from `(x1, y1)` to `(x2, y2)`, styled by `style`.
    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &Attributes<'_>) {
        let ends: [(&str, &dyn Display); 4] = [("x1", &x1), ("y1", &y1), ("x2", &x2), ("y2", &y2)];
        let all: Vec<(&str, &dyn Display)> = ends.iter().chain(style).copied().collect();
        self.leaf("line", &all);
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
    use crate::timeline::parse_events;
    use crate::timeline::tests::{FAULT, TWO, round_robin};

    fn picture(text: &str) -> String {
        svg(&parse_events(text).unwrap())
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
        let texts: Vec<&str> = document
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        for expected in [
            "coroutine2",
            "call → main_context",
            "yield → coro1_context",
            "return: saved nowhere",
        ] {
            assert!(texts.contains(&expected), "no text {expected:?}");
        }
        let bytes = parse_events(TWO)
            .unwrap()
            .iter()
            .find_map(|e| match e {
                Event::HighWater { id: 1, bytes, .. } => Some(*bytes),
                _ => None,
            })
            .unwrap();
        let mark = format!("high water {bytes} of 4096");
        assert!(texts.iter().any(|t| t.starts_with(&mark)), "no {mark:?}");
    }

    #[test]
    fn a_kernel_without_routines_gets_a_sentence_not_empty_lanes() {
        let text = "fault who=0 switch=0 rsp=0x10 tsc=1 what=PANIC: boom (x.rs:1:1)\nexit code=failed switches=0 tsc=2";
        let doc = svg(&parse_events(text).unwrap());
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        let texts: Vec<&str> = parsed
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
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
        let size: f64 = slots.attribute("font-size").unwrap().parse().unwrap();
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
    fn wrapping_keeps_lines_short_and_words_whole() {
        let lines = wrap("one two three four five", 9);
        assert_eq!(lines, ["one two", "three", "four five"]);
    }
}
