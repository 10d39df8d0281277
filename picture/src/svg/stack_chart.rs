//! The stack charts: for each stack, how far below its top RSP was at each
//! switch, with its high-water mark.

use super::xml::Xml;
use super::{Layout, PLOT_LEFT, PLOT_RIGHT, colour, px};
use crate::timeline::{DepthSample, HighWater, Routine, Timeline};
use std::fmt::Display;

/// A chart per stack: its depth at each switch, and its high-water mark;
/// returns the y below them.
pub(super) fn stacks(out: &mut Xml, timeline: &Timeline<'_>, layout: &Layout, top: f64) -> f64 {
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
/// power of two, at least 256, that holds it with a quarter to spare (and
/// never more than the stack). main's 65,536-byte stack is used to about
/// 1.4 KiB.
pub(super) fn chart_span(size: u64, deepest: u64) -> u64 {
    if deepest.saturating_mul(16) >= size {
        return size;
    }
    (deepest + deepest / 4)
        .next_power_of_two()
        .max(256)
        .min(size)
}
