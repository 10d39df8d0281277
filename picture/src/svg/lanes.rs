//! The upper part of the picture: a lane per routine over the switch
//! number, the switch arrows between them, the phase and end marks, the
//! switch numbers and, under them, what each switch did with the leaving
//! routine's slot.

use super::xml::Xml;
use super::{Layout, PLOT_LEFT, PLOT_RIGHT, colour, leaving_class, px, wrap};
use crate::timeline::{End, Routine, Timeline, switch_title};
use protocol::event::{Id, Leaving, Switch};
use std::fmt::Display;

/// The phase marks, the lanes with their bars, the switch arrows and the
/// switch-number axis; returns the y below the axis.
pub(super) fn lanes(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
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
pub(super) fn cross(x: f64, y: f64, r: f64) -> String {
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
pub(super) fn slot_labels(
    out: &mut Xml,
    timeline: &Timeline<'_>,
    layout: &Layout,
    top: f64,
) -> f64 {
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
